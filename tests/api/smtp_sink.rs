//! A real SMTP server on 127.0.0.1:0 that accepts every message and hands
//! the raw bytes to the test: EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffed),
//! RSET, NOOP and QUIT; anything else gets 502.

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

pub struct SmtpSink {
    pub port: u16,
    pub inbox: UnboundedReceiver<Vec<u8>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    /// A sink on a chosen port: the SMTP server that comes back after an outage.
    pub async fn start_on(port: u16) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind the SMTP sink");
        let port = listener.local_addr().expect("SMTP sink address").port();
        let (outbox, inbox) = unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, outbox.clone()));
            }
        });
        SmtpSink { port, inbox }
    }
}

async fn serve(stream: TcpStream, outbox: UnboundedSender<Vec<u8>>) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line).trim_end().to_ascii_uppercase();
        let verb = command.split_whitespace().next().unwrap_or_default().to_owned();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
            "DATA" => {
                writer.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let message = read_data(&mut reader).await?;
                let _ = outbox.send(message);
                b"250 OK queued\r\n"
            }
            "QUIT" => {
                writer.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        writer.write_all(reply).await?;
    }
}

async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Vec<u8>> {
    let mut message = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let content = line.strip_suffix(b"\n").unwrap_or(&line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content == b"." {
            return Ok(message);
        }
        // Dot-unstuffing (RFC 5321 §4.5.2).
        let content = content.strip_prefix(b".").unwrap_or(content);
        message.extend_from_slice(content);
        message.extend_from_slice(b"\r\n");
    }
}
