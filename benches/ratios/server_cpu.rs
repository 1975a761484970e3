//! Where a phase's CPU went: the portal's process, the Postgres server it
//! runs on (when it runs on this machine: every process of the server, the
//! postmaster's children, plus what the postmaster collected from the
//! children that ended), and how busy the machine's cores were, and how
//! much of their time the host took (steal). CPU per step tells changes
//! apart that rates, which drift with the host, cannot; cores left idle
//! under load say that a phase waits on hand-offs, not on the processors.

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
        Some(Self { postmaster, ticks_per_second: ticks_per_second()? })
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

/// What the portal, its Postgres server and the machine used during a phase.
pub struct Usage<'a> {
    portal: u32,
    server: Option<&'a ServerCpu>,
    /// At the start: the portal's CPU seconds, the server's, and the machine's ticks.
    portal_before: Option<f64>,
    server_before: Option<f64>,
    machine_before: Option<Machine>,
}

impl<'a> Usage<'a> {
    /// Starts counting for the portal's process `portal`.
    pub fn start(portal: u32, server: Option<&'a ServerCpu>) -> Self {
        Self {
            portal,
            server,
            portal_before: process_seconds(portal),
            server_before: server.map(ServerCpu::used),
            machine_before: Machine::now(),
        }
    }

    /// One line on what each of `count` steps of `what` cost since `start`.
    pub fn report(&self, what: &str, count: usize) -> String {
        let per_step = |seconds: f64| format!("{:.0} µs", seconds * 1e6 / count as f64);
        let mut cpu = Vec::new();
        if let (Some(before), Some(after)) = (self.portal_before, process_seconds(self.portal)) {
            cpu.push(format!("portal {}", per_step(after - before)));
        }
        if let (Some(before), Some(server)) = (self.server_before, self.server) {
            cpu.push(format!("Postgres {}", per_step(server.used() - before)));
        }
        let cores = match (&self.machine_before, Machine::now()) {
            (Some(before), Some(after)) => {
                let (busy, stolen) = after.since(before);
                format!("; cores busy {:.0} %, stolen by the host {:.0} %", busy * 100.0, stolen * 100.0)
            }
            _ => String::new(),
        };
        format!("{what}, CPU a step: {}{cores}", cpu.join(", "))
    }
}

/// CPU seconds process `pid` has used so far.
fn process_seconds(pid: u32) -> Option<f64> {
    Some(times(pid)?.own as f64 / ticks_per_second()?)
}

fn ticks_per_second() -> Option<f64> {
    // SAFETY: sysconf reads a constant of the system; it takes no pointers.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks > 0.0).then_some(ticks)
}

/// The machine's CPU ticks so far, all cores together, from `/proc/stat`.
struct Machine {
    total: u64,
    idle: u64,
    steal: u64,
}

impl Machine {
    fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks: Vec<u64> =
            stat.lines().next()?.split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal guest guest_nice; guests are in user already.
        let total = ticks.iter().take(8).sum();
        Some(Self { total, idle: ticks.get(3)? + ticks.get(4)?, steal: *ticks.get(7)? })
    }

    /// The shares of the cores' time since `earlier` that were busy (steal
    /// not counted) and that the host took.
    fn since(&self, earlier: &Self) -> (f64, f64) {
        let total = self.total.saturating_sub(earlier.total).max(1) as f64;
        let (idle, steal) = (self.idle - earlier.idle, self.steal - earlier.steal);
        (1.0 - (idle + steal) as f64 / total, steal as f64 / total)
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
