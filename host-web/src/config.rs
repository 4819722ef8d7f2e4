//! The server's configuration: every option is a flag and an environment variable. `JAN_API_HOST`,
//! `JAN_API_PORT` and `JAN_DATA_FOLDER` are the names Jan's own server used; scripts and images rely on them.
//! Switches read from the environment take the usual spellings (`true`/`false`, `on`/`off`, `yes`/`no`, `1`/`0`).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Parser, ValueEnum};

/// Jan in the browser: the UI, Jan's API and an OpenAI-compatible API, behind a login.
#[derive(Debug, Clone, Parser)]
#[command(name = "jan-server", version, about)]
pub struct Config {
    /// Address to listen on. Anything but loopback needs credentials (or --insecure-no-auth).
    #[arg(long, env = "JAN_API_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on.
    #[arg(long, env = "JAN_API_PORT", default_value_t = 1337)]
    pub port: u16,

    /// Jan's data folder (models, threads, assistants). Default: ./jan-data.
    #[arg(long, env = "JAN_DATA_FOLDER", default_value = "jan-data")]
    pub data_folder: PathBuf,

    /// The user name for the login page.
    #[arg(long, env = "JAN_USERNAME")]
    pub username: Option<String>,

    /// The password for the login page (read from the environment; never logged).
    #[arg(long, env = "JAN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// API keys for programmatic use of /v1, comma-separated (never logged).
    #[arg(long, env = "JAN_API_KEY", value_delimiter = ',', hide_env_values = true)]
    pub api_keys: Vec<String>,

    /// Origins (scheme://host:port) allowed to call the API from a browser, comma-separated. The server's own
    /// origin is always allowed; nothing is allowed with `*`.
    #[arg(long, env = "JAN_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// TLS certificate chain (PEM). With --tls-key, the server speaks HTTPS itself.
    #[arg(long, env = "JAN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM).
    #[arg(long, env = "JAN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// The server runs behind an HTTPS proxy: session cookies get the Secure flag.
    #[arg(long, env = "JAN_BEHIND_HTTPS_PROXY", value_parser = BoolishValueParser::new())]
    pub behind_https_proxy: bool,

    /// Log lines as text or JSON.
    #[arg(long, env = "JAN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// How long a login session lasts, in hours.
    #[arg(long, env = "JAN_SESSION_HOURS", default_value_t = 24 * 7)]
    pub session_hours: u64,

    /// Largest request body accepted, in MiB (model uploads excepted).
    #[arg(long, env = "JAN_MAX_BODY_MB", default_value_t = 8)]
    pub max_body_mb: usize,

    /// Requests that may wait per model before new ones get 429.
    #[arg(long, env = "JAN_QUEUE_SIZE", default_value_t = 16)]
    pub queue_size: usize,

    /// Requests each model generates at once (its slots, each with a KV cache of the whole context): a number, or
    /// `auto` (16 on the CPU, 4 on a GPU; fewer when the memory budget cannot hold their caches). A model.json's
    /// `n_parallel` wins.
    #[arg(long, env = "JAN_PARALLEL", default_value = "auto")]
    pub parallel: Parallel,

    /// Seconds a client may leave its tokens unread before its request is cancelled (a thread reply is saved
    /// `stopped`); meanwhile only its own slot waits.
    #[arg(long, env = "JAN_STALL_TIMEOUT_SECS", default_value_t = 60)]
    pub stall_timeout_secs: u64,

    /// A mirror of Hugging Face for the catalog's downloads (`https://huggingface.co` in every catalog URL is
    /// replaced by it), e.g. an internal proxy on a server without internet access.
    #[arg(long, env = "JAN_HUB_URL")]
    pub hub_url: Option<String>,

    /// Where models run: `auto` (the first NVIDIA GPU in a CUDA build, else the CPU), `cpu`, `cuda` or `cuda:N`.
    /// A model.json with `ngl: 0` always runs on the CPU.
    #[arg(long, env = "JAN_DEVICE", default_value = "auto")]
    pub device: jan_core::inference::DeviceChoice,

    /// Seconds a request may take until its response starts (a whole non-streamed completion); streams and
    /// model uploads are not limited.
    #[arg(long, env = "JAN_REQUEST_TIMEOUT_SECS", default_value_t = 600)]
    pub request_timeout_secs: u64,

    /// Seconds a client has to send a request's whole head (also the time an idle kept-alive connection may wait
    /// for its next request); a slower connection is closed. Slow-header clients hold no descriptor longer.
    #[arg(long, env = "JAN_HEADER_TIMEOUT_SECS", default_value_t = 30)]
    pub header_timeout_secs: u64,

    /// Seconds a TLS handshake may take.
    #[arg(long, env = "JAN_TLS_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10)]
    pub tls_handshake_timeout_secs: u64,

    /// Connections open at once from one client address (IPv6: one /64); a connection beyond it is closed as it
    /// is accepted, and the address is logged once.
    #[arg(long, env = "JAN_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,

    /// Connections open at once in total (keep it under the process's descriptor limit).
    #[arg(long, env = "JAN_MAX_CONNECTIONS", default_value_t = 8192)]
    pub max_connections: usize,

    /// Listen beyond loopback without any credentials. Anyone who can reach the port gets full access.
    #[arg(long, env = "JAN_INSECURE_NO_AUTH", value_parser = BoolishValueParser::new())]
    pub insecure_no_auth: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// Whether a username and password are configured.
    pub fn has_login(&self) -> bool {
        self.username.as_deref().is_some_and(|u| !u.is_empty())
            && self.password.as_deref().is_some_and(|p| !p.is_empty())
    }

    /// Whether any credential (login or API key) is configured.
    pub fn has_credentials(&self) -> bool {
        self.has_login() || self.api_keys.iter().any(|k| !k.trim().is_empty())
    }

    /// Whether session cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.tls_cert.is_some() || self.behind_https_proxy
    }

    /// The rule that keeps a fresh install safe: beyond loopback, credentials are required unless the operator
    /// explicitly opted out.
    pub fn check_exposure(&self) -> Result<(), String> {
        if self.host.is_loopback() || self.has_credentials() || self.insecure_no_auth {
            return Ok(());
        }
        Err(format!(
            "refusing to listen on {} without credentials: set JAN_USERNAME and JAN_PASSWORD (or JAN_API_KEY), or \
             listen on 127.0.0.1; --insecure-no-auth opens the server to anyone who can reach it",
            self.host
        ))
    }

    /// A config for tests: loopback, no credentials, the given data folder.
    pub fn for_tests(data_folder: PathBuf) -> Config {
        Config::parse_from(["jan-server", "--data-folder", &data_folder.to_string_lossy()])
    }
}

/// `--parallel`: `auto` (`None`) or a number of slots from 1 to 64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallel(pub Option<usize>);

impl std::str::FromStr for Parallel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "auto" | "" => Ok(Parallel(None)),
            n => match n.parse::<usize>() {
                Ok(n @ 1..=64) => Ok(Parallel(Some(n))),
                _ => Err(format!("'{n}' is not a number of slots (1 to 64) or auto")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn every_option_parses_and_slots_are_auto_or_a_number() {
        Config::command().debug_assert();
        let parse = |args: &[&str]| Config::try_parse_from([&["jan-server"], args].concat());
        assert_eq!(parse(&[]).map(|c| c.parallel).ok(), Some(Parallel(None)));
        assert_eq!(parse(&["--parallel", "3"]).map(|c| c.parallel).ok(), Some(Parallel(Some(3))));
        assert_eq!(parse(&["--parallel", "auto"]).map(|c| c.parallel).ok(), Some(Parallel(None)));
        assert!(parse(&["--parallel", "0"]).is_err() && parse(&["--parallel", "many"]).is_err());
        assert_eq!(parse(&["--stall-timeout-secs", "5"]).map(|c| c.stall_timeout_secs).ok(), Some(5));
    }
}
