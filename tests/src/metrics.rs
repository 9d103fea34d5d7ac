//! Reading a server's Prometheus endpoint in tests: one plain HTTP/1.1 scrape, and the sum of
//! the samples of a metric whose labels include the given ones.

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET /metrics` on the port of `addr` over loopback, with an optional bearer token: the status
/// code and the body.
pub async fn scrape(addr: SocketAddr, bearer: Option<&str>) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", addr.port()))
        .await
        .expect("the metrics endpoint accepts");
    let authorization = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: localhost\r\n{authorization}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("the request is sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("the answer is read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The sum of every sample of `name` whose labels include each of `labels` (`key="value"`, or a
/// prefix of one such as `engine="tesseract-`).
pub fn sample(body: &str, name: &str, labels: &[&str]) -> f64 {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, label_text) = series.split_once('{').unwrap_or((series, ""));
            (metric == name && labels.iter().all(|label| label_text.contains(label)))
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}
