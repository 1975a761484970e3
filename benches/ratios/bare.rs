//! The baselines: a bare actix-web page (the same actix-web as the portal,
//! a page of the sign-in page's size, default workers) and the machine's
//! argon2id ceiling.

use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// `--bare-page PORT BYTES`: serves `GET /` with a page of BYTES bytes until killed.
pub fn serve(args: &[String]) -> anyhow::Result<()> {
    let port: u16 = args.first().ok_or_else(|| anyhow::anyhow!("--bare-page PORT BYTES"))?.parse()?;
    let bytes: usize = args.get(1).ok_or_else(|| anyhow::anyhow!("--bare-page PORT BYTES"))?.parse()?;
    let page = web::Bytes::from(format!(
        "<!doctype html><title>bare</title><p>{}</p>",
        "x".repeat(bytes.saturating_sub(40))
    ));
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let page = page.clone();
            App::new().route(
                "/",
                web::get().to(move || {
                    let page = page.clone();
                    async move { HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page) }
                }),
            )
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })?;
    Ok(())
}

/// Hashes per second when every core does nothing but argon2id with the
/// portal's default parameters, each thread on memory of its own.
pub fn argon2_ceiling(threads: usize, duration: Duration) -> f64 {
    let params = Params::new(19_456, 2, 1, None).expect("the default parameters");
    let started = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let params = params.clone();
                scope.spawn(move || {
                    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                    let mut memory = vec![Block::new(); params.block_count()];
                    let mut out = [0u8; 32];
                    let mut hashes = 0;
                    while started.elapsed() < duration {
                        argon
                            .hash_password_into_with_memory(
                                b"a benchmark passphrase",
                                b"sixteen byte salt",
                                &mut out,
                                &mut memory[..],
                            )
                            .expect("hash");
                        hashes += 1;
                    }
                    hashes
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a hashing thread")).collect()
    });
    counts.iter().sum::<u64>() as f64 / started.elapsed().as_secs_f64()
}
