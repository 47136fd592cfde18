//! Starting the local stack: the emulator, then each function's `serve`,
//! configured to verify the emulator's real OIDC tokens (never the
//! development bypass) and to relay follow-up tasks and dead letters back
//! through the emulator.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tasklane::FunctionSpec;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{BoxError, INVOKER, LOCATION, PROJECT};

/// How long a process may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// One running function service.
#[derive(Debug)]
pub struct Service {
    /// The function's settings.
    pub spec: FunctionSpec,
    /// `http://127.0.0.1:PORT`, also the OIDC audience.
    pub base_url: String,
    child: Child,
}

impl Service {
    /// The push URL, `<base>/tasks/<function>`.
    pub fn push_url(&self) -> String {
        format!("{}{}", self.base_url, self.spec.route())
    }
}

/// The emulator plus one service per function.
#[derive(Debug)]
pub struct Stack {
    /// The emulator's base URL.
    pub emulator_url: String,
    /// Services by function name.
    pub services: BTreeMap<String, Service>,
    emulator: Child,
}

/// Where the workspace's binaries are: next to this executable (a binary in
/// `target/<profile>`) or one level up (a test in `target/<profile>/deps`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.parent().map(Path::to_path_buf).unwrap_or(dir)
    } else {
        dir
    }
}

fn binary(name: &str) -> Result<PathBuf, BoxError> {
    let path = bin_dir().join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not built (cargo build --workspace --bins)",
            path.display()
        )
        .into())
    }
}

fn free_port() -> Result<u16, BoxError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Stack {
    /// Start the emulator with `specs`' queues and topics, then a service per
    /// spec against `database_url`; logs go to files under `log_dir`.
    ///
    /// # Errors
    ///
    /// When a binary is missing or a process does not become ready.
    pub async fn start(
        database_url: &str,
        specs: &[FunctionSpec],
        log_dir: &Path,
        emulator_args: &[&str],
    ) -> Result<Stack, BoxError> {
        std::fs::create_dir_all(log_dir)?;
        let (emulator, emulator_url) = start_emulator(specs, log_dir, emulator_args).await?;
        let ports = specs
            .iter()
            .map(|s| Ok((s.name.clone(), free_port()?)))
            .collect::<Result<BTreeMap<_, _>, BoxError>>()?;
        let mut services = BTreeMap::new();
        for spec in specs {
            let service = start_service(spec, database_url, &emulator_url, &ports, log_dir).await?;
            services.insert(spec.name.clone(), service);
        }
        Ok(Stack {
            emulator_url,
            services,
            emulator,
        })
    }

    /// The service of `function`.
    ///
    /// # Panics
    ///
    /// When the stack was started without it.
    pub fn service(&self, function: &str) -> &Service {
        &self.services[function]
    }

    /// Stop every service (SIGTERM, as Cloud Run does), then the emulator.
    pub async fn stop(mut self) {
        for service in self.services.values_mut() {
            terminate(&mut service.child).await;
        }
        terminate(&mut self.emulator).await;
    }
}

async fn start_emulator(
    specs: &[FunctionSpec],
    log_dir: &Path,
    extra: &[&str],
) -> Result<(Child, String), BoxError> {
    let mut command = Command::new(binary("tasklane-emulator")?);
    command.args([
        "--addr",
        "127.0.0.1:0",
        "--project",
        PROJECT,
        "--location",
        LOCATION,
    ]);
    for spec in specs {
        let path = log_dir.join(format!("{}.spec.json", spec.name));
        std::fs::write(&path, serde_json::to_vec_pretty(spec)?)?;
        command.arg("--spec").arg(path);
    }
    command.args(extra);
    let log = std::fs::File::create(log_dir.join("emulator.log"))?;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("emulator stdout is not piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(READY_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                return Ok::<_, BoxError>(url.trim_end_matches('/').to_owned());
            }
        }
        Err("emulator exited before listening".into())
    })
    .await
    .map_err(|_| "emulator did not start within 60 s")??;
    // Keep draining stdout so the emulator never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, url))
}

async fn start_service(
    spec: &FunctionSpec,
    database_url: &str,
    emulator_url: &str,
    ports: &BTreeMap<String, u16>,
    log_dir: &Path,
) -> Result<Service, BoxError> {
    let port = ports[&spec.name];
    let base_url = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(binary(&spec.name)?);
    command
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("PORT", port.to_string())
        .env("TASKLANE_AUDIENCE", &base_url)
        .env("TASKLANE_INVOKERS", INVOKER)
        .env(
            "TASKLANE_JWKS_URL",
            format!("{emulator_url}/oauth2/v3/certs"),
        )
        .env("GOOGLE_CLOUD_PROJECT", PROJECT)
        .env("TASKLANE_LOCATION", LOCATION)
        .env("TASKLANE_TASKS_ENDPOINT", emulator_url)
        .env("TASKLANE_PUBSUB_ENDPOINT", emulator_url)
        .env("TASKLANE_INVOKER_SA", INVOKER)
        .env_remove("TASKLANE_ENV")
        .env_remove("K_SERVICE");
    for (function, port) in ports {
        let suffix = tasklane::relay::env_suffix(function);
        let target = format!("http://127.0.0.1:{port}");
        command
            .env(
                format!("TASKLANE_TARGET_URL_{suffix}"),
                format!("{target}/tasks/{function}"),
            )
            .env(format!("TASKLANE_TARGET_AUDIENCE_{suffix}"), target);
    }
    let log = std::fs::File::create(log_dir.join(format!("{}.log", spec.name)))?;
    let mut child = command
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()?;
    wait_ready(&mut child, &base_url, &spec.name).await?;
    Ok(Service {
        spec: spec.clone(),
        base_url,
        child,
    })
}

/// Poll `/readyz` until it answers 200; a start-up wait, not a test
/// synchronisation.
async fn wait_ready(child: &mut Child, base_url: &str, name: &str) -> Result<(), BoxError> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < READY_TIMEOUT {
        if let Some(status) = child.try_wait()? {
            return Err(format!("{name} exited during start-up ({status})").into());
        }
        let ready = client.get(format!("{base_url}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{name} was not ready within 60 s").into())
}

async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(15), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}
