//! Test support: a throwaway `redis-server` of the test's own, for the Redis adapter's unit
//! tests and the black-box tests of the application. Not meant for production use.
//!
//! Each [`TestRedis`] runs `redis-server` from `PATH` on a free loopback port, without
//! persistence (`--save "" --appendonly no`), in a temporary directory, and kills it when
//! dropped, also when the test panics. It never touches a Redis it did not start: readiness
//! is checked by asking the server for its process id and comparing it with the child's.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let redis = stepline_runtime::store::redis::TestRedis::start()?;
//! let url = redis.url(); // redis://127.0.0.1:<port>/
//! # Ok(()) }
//! ```

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a starting server may take to answer.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A `redis-server` owned by a test; killed on drop.
#[derive(Debug)]
pub struct TestRedis {
    port: u16,
    password: Option<String>,
    dir: PathBuf,
    child: Option<Child>,
}

impl TestRedis {
    /// Starts a server on a free loopback port and waits until it answers.
    pub fn start() -> io::Result<Self> {
        Self::start_inner(None)
    }

    /// Starts a server that requires `password` (`--requirepass`).
    pub fn start_with_password(password: &str) -> io::Result<Self> {
        Self::start_inner(Some(password.to_string()))
    }

    fn start_inner(password: Option<String>) -> io::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "stepline-test-redis-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let mut server = Self {
            port: 0,
            password,
            dir,
            child: None,
        };

        // Another process may take the free port before the server binds it: try a few.
        let mut last_error = None;
        for _ in 0..5 {
            server.port = free_port()?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to connect with, including the password if there is one.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// Kills the server (as a crash would) and waits until it is gone. Data is lost.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh, empty server on the same port, after [`TestRedis::stop`].
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.spawn()
    }

    fn spawn(&mut self) -> io::Result<()> {
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        let child = command.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot run redis-server ({e}); install it, as .ci/run does"),
            )
        })?;
        self.child = Some(child);

        let ready = self.wait_until_ready();
        if ready.is_err() {
            self.stop();
        }
        ready
    }

    /// Waits until the server on our port is our child and answers.
    fn wait_until_ready(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let Some(child) = self.child.as_mut() else {
                return Err(io::Error::other("redis-server is not running"));
            };
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "redis-server exited ({status}) on port {}: {}",
                    self.port,
                    log.lines().last().unwrap_or("no log")
                )));
            }
            let pid = child.id();
            if self.answering_pid().ok() == Some(pid) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("redis-server on port {} did not answer in time", self.port),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id the server on our port reports (`INFO server`).
    fn answering_pid(&self) -> io::Result<u32> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_millis(500)))?;
        if let Some(password) = &self.password {
            stream.write_all(format!("AUTH {password}\r\n").as_bytes())?;
        }
        stream.write_all(b"INFO server\r\n")?;

        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while answer.len() < 64 * 1024 {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some(rest) = text.split("process_id:").nth(1)
                && let Some((pid, _)) = rest.split_once("\r\n")
            {
                return pid.trim().parse().map_err(io::Error::other);
            }
        }
        Err(io::Error::other("no process id in the INFO answer"))
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port nobody listens on right now.
pub(crate) fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
