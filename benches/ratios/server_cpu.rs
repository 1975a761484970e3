//! The CPU time of the Postgres server the portal runs on, when it runs on
//! this machine: every process of the server (the postmaster's children,
//! the backends among them) plus what the postmaster collected from the
//! children that ended. On the password step, the server's share of the
//! two cores is what keeps the hashing below its ceiling.

use sqlx::{Connection as _, PgConnection};

pub struct ServerCpu {
    postmaster: u32,
    ticks_per_second: f64,
}

impl ServerCpu {
    /// The server behind `url`, if it is a Postgres server whose processes
    /// this user can read here.
    pub async fn of(url: &str) -> Option<Self> {
        if !url.starts_with("postgres") {
            return None;
        }
        let mut conn = PgConnection::connect(url).await.ok()?;
        let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut conn).await.ok()?;
        let status = std::fs::read_to_string(format!("/proc/{backend}/status")).ok()?;
        let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
        // A server elsewhere: its backend's pid may be any process's here.
        if field("Name:") != Some("postgres") {
            return None;
        }
        let postmaster = field("PPid:")?.parse().ok()?;
        // SAFETY: sysconf reads a constant of the system; it takes no pointers.
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        (ticks_per_second > 0.0).then_some(Self { postmaster, ticks_per_second })
    }

    /// CPU seconds the server has used so far.
    pub fn used(&self) -> f64 {
        let mut ticks = times(self.postmaster).map_or(0, |t| t.own + t.ended_children);
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if let Some(t) = times(pid).filter(|t| t.parent == self.postmaster) {
                ticks += t.own;
            }
        }
        ticks as f64 / self.ticks_per_second
    }
}

/// A process's parent and CPU ticks, from `/proc/PID/stat`.
struct Times {
    parent: u32,
    /// User and system time.
    own: u64,
    /// User and system time of the children it waited for.
    ended_children: u64,
}

fn times(pid: u32) -> Option<Times> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: the fields start after its last `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n)?.parse::<u64>().ok();
    // Fields 4, 14–17 of proc(5), counted from field 3 (the state) here.
    Some(Times {
        parent: u32::try_from(field(1)?).ok()?,
        own: field(11)? + field(12)?,
        ended_children: field(13)? + field(14)?,
    })
}
