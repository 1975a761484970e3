//! A real SMTP server (mailin-embedded) on 127.0.0.1:0 that offers STARTTLS
//! with a certificate made for `localhost` when the test starts, and may
//! require AUTH PLAIN. Unlike `SmtpSink`, it is an implementation someone
//! else wrote, so the app's TLS and AUTH are checked against a real peer.
//!
//! mailin-embedded cannot be stopped: each server runs on its own threads
//! until the test process ends, its port is never reused meanwhile.

use std::io;
use std::net::{IpAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mailin_embedded::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig};
use tempfile::TempDir;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

const MESSAGE_TIMEOUT: Duration = Duration::from_secs(15);

/// How the server behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Offer STARTTLS; without it the server speaks plain SMTP only.
    pub starttls: bool,
    /// Require AUTH PLAIN with these (user, password) before any mail.
    pub login: Option<(&'static str, &'static str)>,
}

/// A message the server accepted.
#[derive(Debug)]
pub struct Received {
    /// The message as it came after DATA, dot-unstuffed.
    pub raw: Vec<u8>,
    /// Who the session logged in as. mailin's state machine accepts AUTH
    /// only once STARTTLS is done, so `Some` also means the session was
    /// encrypted: mailin tells a handler nothing else about TLS.
    pub authenticated_as: Option<String>,
}

/// What the server has seen so far, over all sessions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seen {
    /// EHLO/HELO commands (a client that does STARTTLS sends two).
    pub greetings: usize,
    /// AUTH attempts refused for wrong credentials.
    pub refused_logins: usize,
    /// MAIL FROM commands, accepted or not: the start of a message.
    pub transactions: usize,
}

pub struct TlsSmtpServer {
    pub port: u16,
    /// The self-signed certificate, PEM: what `smtp_ca_file` must name.
    pub cert_pem_path: PathBuf,
    pub inbox: UnboundedReceiver<Received>,
    counters: Arc<Counters>,
    _dir: TempDir,
}

impl TlsSmtpServer {
    pub fn start(options: Options) -> TlsSmtpServer {
        // The test build has both of rustls's providers, so mailin's
        // `ServerConfig::builder()` needs a process default to pick one.
        let _ = rustls::crypto::ring::default_provider().install_default();

        let dir = tempfile::Builder::new()
            .prefix("gatehouse-smtp-tls-")
            .tempdir()
            .expect("create a directory for the certificate");
        let cert_pem_path = dir.path().join("localhost.crt.pem");
        let key_path = dir.path().join("localhost.key.pem");
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("generate a certificate for localhost");
        std::fs::write(&cert_pem_path, certified.cert.pem()).expect("write the certificate");
        std::fs::write(&key_path, certified.signing_key.serialize_pem()).expect("write the key");

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the TLS SMTP server");
        let port = listener.local_addr().expect("TLS SMTP server address").port();
        let (outbox, inbox) = unbounded_channel();
        let counters = Arc::new(Counters::default());
        let handler = Session::new(options.login, outbox, counters.clone());

        let ssl = if options.starttls {
            SslConfig::SelfSigned {
                cert_path: cert_pem_path.to_string_lossy().into_owned(),
                key_path: key_path.to_string_lossy().into_owned(),
            }
        } else {
            SslConfig::None
        };
        let mut server = Server::new(handler);
        server
            .with_name("localhost")
            .with_ssl(ssl)
            .expect("load the certificate into the TLS SMTP server")
            .with_tcp_listener(listener);
        if options.login.is_some() {
            server.with_auth(AuthMechanism::Plain);
        }
        std::thread::Builder::new()
            .name(format!("tls-smtp-{port}"))
            .spawn(move || {
                if let Err(error) = server.serve() {
                    eprintln!("the TLS SMTP server on port {port} stopped: {error}");
                }
            })
            .expect("start the TLS SMTP server thread");

        TlsSmtpServer { port, cert_pem_path, inbox, counters, _dir: dir }
    }

    /// The next message the server accepted; panics if none comes within 15 s.
    pub async fn next_message(&mut self) -> Received {
        match tokio::time::timeout(MESSAGE_TIMEOUT, self.inbox.recv()).await {
            Ok(Some(received)) => received,
            Ok(None) => panic!("the TLS SMTP server stopped before a message arrived"),
            Err(_) => panic!("no message reached the TLS SMTP server within {MESSAGE_TIMEOUT:?}"),
        }
    }

    /// Panics if the server has accepted any message so far.
    pub fn assert_nothing_received(&mut self) {
        if let Ok(received) = self.inbox.try_recv() {
            panic!(
                "the server accepted a message (logged in as {:?}):\n{}",
                received.authenticated_as,
                String::from_utf8_lossy(&received.raw)
            );
        }
    }

    pub fn seen(&self) -> Seen {
        Seen {
            greetings: self.counters.greetings.load(Ordering::SeqCst),
            refused_logins: self.counters.refused_logins.load(Ordering::SeqCst),
            transactions: self.counters.transactions.load(Ordering::SeqCst),
        }
    }
}

#[derive(Default)]
struct Counters {
    greetings: AtomicUsize,
    refused_logins: AtomicUsize,
    transactions: AtomicUsize,
}

/// mailin clones the handler for each connection, so the fields below the
/// shared ones belong to one SMTP session.
#[derive(Clone)]
struct Session {
    login: Option<(&'static str, &'static str)>,
    outbox: UnboundedSender<Received>,
    counters: Arc<Counters>,
    authenticated_as: Option<String>,
    message: Vec<u8>,
}

impl Session {
    fn new(
        login: Option<(&'static str, &'static str)>,
        outbox: UnboundedSender<Received>,
        counters: Arc<Counters>,
    ) -> Session {
        Session { login, outbox, counters, authenticated_as: None, message: Vec::new() }
    }
}

impl Handler for Session {
    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        self.counters.greetings.fetch_add(1, Ordering::SeqCst);
        OK
    }

    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        self.counters.transactions.fetch_add(1, Ordering::SeqCst);
        OK
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, _to: &[String]) -> Response {
        self.message.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.message.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let raw = std::mem::take(&mut self.message);
        let _ = self.outbox.send(Received { raw, authenticated_as: self.authenticated_as.clone() });
        OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, user: &str, password: &str) -> Response {
        match self.login {
            Some((expected_user, expected_password))
                if user == expected_user && password == expected_password =>
            {
                self.authenticated_as = Some(user.to_owned());
                AUTH_OK
            }
            _ => {
                self.counters.refused_logins.fetch_add(1, Ordering::SeqCst);
                INVALID_CREDENTIALS
            }
        }
    }
}
