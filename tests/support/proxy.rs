//! A small HTTP proxy between the SDK and moto that records requests and can answer chosen
//! ones itself: real-shaped AWS errors (EKS's 409 `ResourceInUseException`, which moto never
//! returns because its updates finish at once) and calls moto does not implement.
//!
//! It can also misbehave as networks do ([`Glitch`]): drop the connection without an answer,
//! or answer late.
//!
//! A [`Responder`] answers whole families of calls with state of its own (the EKS access
//! entries moto lacks, `eks_access.rs`); faults and glitches still come first, so a test can
//! throttle a call the responder would answer.
//!
//! A [`Rewriter`] changes moto's answers instead: it adds what moto leaves out of an answer
//! it does give (the cluster fields of `cluster_extras.rs`). Rewriters see only answers that
//! came from moto, after it answered, so they can also learn from calls that succeeded.
//! Without rewriters, moto's answers pass through byte for byte, as before.
//!
//! It speaks just enough HTTP/1.1 for the SDK: one request per connection, `Content-Length`
//! bodies, and `Connection: close` on every answer.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the SDK sent.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The request line and headers (JSON protocols name the operation in `X-Amz-Target`).
    pub head: String,
    pub body: String,
    /// Whether the proxy answered it itself instead of moto.
    pub answered: bool,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// An answer the proxy gives itself.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Answer `times` requests whose path ends with `path_suffix` (and whose text, head or body,
/// contains `body_contains`, when set) with `answer`.
#[derive(Clone, Debug)]
pub struct Fault {
    pub path_suffix: String,
    pub body_contains: Option<String>,
    pub times: usize,
    pub answer: Canned,
}

/// A network misbehaviour for `times` requests whose text (head or body) contains `needle`.
#[derive(Clone, Debug)]
pub struct Glitch {
    pub needle: String,
    pub times: usize,
    pub kind: GlitchKind,
}

#[derive(Clone, Copy, Debug)]
pub enum GlitchKind {
    /// Close the connection without answering (a reset, as the SDK sees it).
    Reset,
    /// Wait this long, then carry on (canned answer or moto's).
    Slow(std::time::Duration),
}

/// A request as a [`Rewriter`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The raw (still percent-encoded) path, without the query.
    pub path: &'a str,
    /// The raw query string (empty when there is none).
    pub query: &'a str,
    pub body: &'a str,
}

/// Changes moto's answers to some requests (a stand-in for fields moto lacks).
pub trait Rewriter: Send + Sync {
    /// The body to send instead of moto's `body` (with HTTP `status`) to `request`, or `None`:
    /// leave it. Rewriters are asked in the order they were added, each seeing the body the
    /// previous one left; the status and headers stay moto's, `Content-Length` corrected.
    fn rewrite(&self, request: &Request<'_>, status: u16, body: &str) -> Option<String>;
}

/// Answers some requests itself, with state (a stand-in for APIs moto lacks).
pub trait Responder: Send + Sync {
    /// The answer to one request, or `None`: not mine, the proxy goes on (other responders,
    /// then moto). `path` is the raw (still percent-encoded) path without the query, `query`
    /// the raw query string (empty when there is none).
    fn answer(&self, method: &str, path: &str, query: &str, body: &str) -> Option<Canned>;
}

#[derive(Default)]
struct State {
    faults: Vec<Fault>,
    glitches: Vec<Glitch>,
    responders: Vec<Arc<dyn Responder>>,
    rewriters: Vec<Arc<dyn Rewriter>>,
    requests: Vec<Recorded>,
}

pub struct Proxy {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    /// Starts a proxy in front of `upstream` (`http://host:port`) on a free local port.
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &state).await;
                });
            }
        });
        Proxy { url, state }
    }

    pub fn inject(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push(fault);
    }

    pub fn glitch(&self, glitch: Glitch) {
        self.state.lock().unwrap().glitches.push(glitch);
    }

    /// Lets `responder` answer the requests it claims, after faults and glitches and before
    /// moto; responders are asked in the order they were added.
    pub fn respond_with(&self, responder: Arc<dyn Responder>) {
        self.state.lock().unwrap().responders.push(responder);
    }

    /// Lets `rewriter` change moto's answers; rewriters are asked in the order they were added.
    pub fn rewrite_with(&self, rewriter: Arc<dyn Rewriter>) {
        self.state.lock().unwrap().rewriters.push(rewriter);
    }

    /// How many glitched requests are still to come: 0 once every glitch was met.
    pub fn glitches_left(&self) -> usize {
        self.state
            .lock()
            .unwrap()
            .glitches
            .iter()
            .map(|g| g.times)
            .sum()
    }

    /// Forgets the requests recorded so far, e.g. a test's own seeding through the proxy, so
    /// that [`Proxy::requests`] shows only what came after.
    pub fn forget(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// The requests whose path ends with `path_suffix`, in order.
    pub fn requests(&self, path_suffix: &str) -> Vec<Recorded> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.path.ends_with(path_suffix))
            .cloned()
            .collect()
    }
}

/// EKS's answer to an update while another runs, as AWS sends it (restJson1 error).
pub fn resource_in_use(cluster: &str) -> Canned {
    Canned {
        status: 409,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (
                "x-amzn-ErrorType".into(),
                "ResourceInUseException:http://internal.amazon.com/coral/com.amazonaws.eks/".into(),
            ),
            (
                "x-amzn-RequestId".into(),
                "3f1c3b8e-0000-4000-8000-000000000409".into(),
            ),
        ],
        body: serde_json::json!({
            "clusterName": cluster,
            "message": "Cluster has updates in progress",
        })
        .to_string(),
    }
}

/// EKS's answer for an add-on a cluster does not have (restJson1 404), for the add-on reads
/// moto lacks.
pub fn addon_not_found(addon: &str) -> Canned {
    Canned {
        status: 404,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (
                "x-amzn-ErrorType".into(),
                "ResourceNotFoundException".into(),
            ),
        ],
        body: serde_json::json!({"message": format!("No addon: {addon} found in cluster")})
            .to_string(),
    }
}

/// A 200 JSON answer.
pub fn ok_json(body: serde_json::Value) -> Canned {
    Canned {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string(),
    }
}

async fn serve(mut client: TcpStream, upstream: &str, state: &Mutex<State>) -> std::io::Result<()> {
    let (head, body) = read_message(&mut client).await?;
    let head_text = String::from_utf8_lossy(&head).into_owned();
    let mut request_line = head_text.lines().next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("").to_owned();
    let target = request_line.next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (path, query) = (path.to_owned(), query.to_owned());
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let text = format!("{head_text}\r\n\r\n{body_text}");
    let glitch = {
        let mut state = state.lock().unwrap();
        let hit = state
            .glitches
            .iter_mut()
            .find(|g| g.times > 0 && text.contains(&g.needle));
        hit.map(|g| {
            g.times -= 1;
            g.kind
        })
    };
    match glitch {
        Some(GlitchKind::Reset) => {
            state.lock().unwrap().requests.push(Recorded {
                method,
                path,
                head: head_text.clone(),
                body: body_text,
                answered: true,
            });
            // Dropping the stream unanswered: the client reads an early end of the connection.
            drop(client);
            return Ok(());
        }
        Some(GlitchKind::Slow(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let (canned, rewriters) = {
        let mut state = state.lock().unwrap();
        let hit = state.faults.iter_mut().find(|f| {
            f.times > 0
                && path.ends_with(&f.path_suffix)
                && f.body_contains
                    .as_deref()
                    .is_none_or(|needle| text.contains(needle))
        });
        let canned = hit.map(|f| {
            f.times -= 1;
            f.answer.clone()
        });
        // Asked under the lock, so requests are recorded in the order they were answered; a
        // responder keeps state of its own and never calls back into the proxy.
        let canned = canned.or_else(|| {
            state
                .responders
                .iter()
                .find_map(|r| r.answer(&method, &path, &query, &body_text))
        });
        state.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            head: head_text.clone(),
            body: body_text.clone(),
            answered: canned.is_some(),
        });
        (canned, state.rewriters.clone())
    };
    let response = match canned {
        Some(c) => {
            let mut text = format!("HTTP/1.1 {} Canned\r\n", c.status);
            for (k, v) in &c.headers {
                text.push_str(&format!("{k}: {v}\r\n"));
            }
            text.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                c.body.len(),
                c.body
            ));
            text.into_bytes()
        }
        None => {
            let answer = forward(upstream, &head_text, &body).await?;
            let request = Request {
                method: &method,
                path: &path,
                query: &query,
                body: &body_text,
            };
            rewrite(answer, &request, &rewriters)
        }
    };
    client.write_all(&response).await?;
    client.shutdown().await
}

/// Sends the request to moto with `Connection: close` and returns moto's whole answer, also
/// marked `Connection: close`.
async fn forward(upstream: &str, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    let mut request = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            request.push_str(line);
            request.push_str("\r\n");
        }
    }
    request.push_str("Connection: close\r\n\r\n");
    server.write_all(request.as_bytes()).await?;
    server.write_all(body).await?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).await?;
    let split = find(&answer, b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
    let (head, rest) = answer.split_at(split);
    let mut out = String::new();
    for line in String::from_utf8_lossy(head)
        .split("\r\n")
        .filter(|l| !l.is_empty())
    {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(rest);
    Ok(bytes)
}

/// moto's whole `answer` to `request`, its body changed by `rewriters` and its
/// `Content-Length` set to match; unchanged when no rewriter changes it (or it is not UTF-8).
fn rewrite(answer: Vec<u8>, request: &Request<'_>, rewriters: &[Arc<dyn Rewriter>]) -> Vec<u8> {
    if rewriters.is_empty() {
        return answer;
    }
    let Some(split) = find(&answer, b"\r\n\r\n").map(|i| i + 4) else {
        return answer;
    };
    let (head, body) = answer.split_at(split);
    let (Ok(head), Ok(body)) = (std::str::from_utf8(head), std::str::from_utf8(body)) else {
        return answer;
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let mut changed: Option<String> = None;
    for rewriter in rewriters {
        let current = changed.as_deref().unwrap_or(body);
        if let Some(new) = rewriter.rewrite(request, status, current) {
            changed = Some(new);
        }
    }
    let Some(body) = changed else {
        return answer;
    };
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out.into_bytes()
}

/// Reads one request: its head (through the blank line) and its `Content-Length` body.
async fn read_message(stream: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buffer, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = buffer[..head_end].to_vec();
    let length = String::from_utf8_lossy(&head)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
