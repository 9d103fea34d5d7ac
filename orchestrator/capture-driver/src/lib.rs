//! The capture driver: runs a browsing script (visit, scroll, click, type, wait) in headless
//! Chromium over the DevTools protocol (chromiumoxide; Debian's `chromium`, no browser download)
//! and takes viewport-only screenshots at a fixed interval, each with its time, URL, viewport
//! size and optionally the visible DOM text (ground truth for evaluation). Frames go to a channel;
//! [`folder`] writes them as a session folder and reads such a folder back for replay.
//!
//! A missing browser, a page that fails to load or a selector that never appears ends the run
//! with a [`CaptureError`] naming it; the frames already sent stay sent.

pub mod folder;

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::{Page, ScreenshotParams};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Shortest interval between screenshots.
pub const MIN_INTERVAL_MS: u64 = 100;
/// How long a step may wait for its selector or page.
pub const DEFAULT_STEP_TIMEOUT_MS: u64 = 10_000;

/// A browsing script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Name of the session.
    pub name: String,
    /// What the scripted shopper wants, in words (recorded in the manifest; never read by the
    /// pipeline).
    #[serde(default)]
    pub intent: String,
    /// The intent as facts a summary should recover (`lowest_price`, `highest_price`, catalog
    /// attributes with their values, `bedrooms_min`, `on_sale`, ...); read by
    /// `just bench-summarize` only, never by the pipeline.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub expect: std::collections::BTreeMap<String, serde_json::Value>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Open a URL (relative URLs resolve against the base URL).
    Visit(String),
    /// Scroll by this many pixels (negative: up).
    Scroll(i64),
    /// Click the first element matching a CSS selector (waiting for it to appear).
    Click(String),
    /// Type text into the element matching a selector, optionally pressing Enter after.
    Type {
        /// CSS selector.
        selector: String,
        /// The text.
        text: String,
        /// Press Enter afterwards.
        #[serde(default)]
        submit: bool,
    },
    /// Pause this many milliseconds.
    Wait(u64),
    /// Wait until an element matching the selector exists.
    WaitFor(String),
}

/// Reads a script from JSON or YAML (told apart by the first character).
pub fn parse_script(text: &str) -> Result<Script, CaptureError> {
    let script: Script = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| CaptureError::Script(format!("invalid JSON: {e}")))?
    } else {
        // Steps are written as one-key maps (`- visit: /fashion`), as in the JSON form.
        serde_yaml_ng::with::singleton_map_recursive::deserialize(serde_yaml_ng::Deserializer::from_str(text))
            .map_err(|e| CaptureError::Script(format!("invalid YAML: {e}")))?
    };
    if script.steps.is_empty() {
        return Err(CaptureError::Script("the script has no steps".into()));
    }
    if !matches!(script.steps.first(), Some(Step::Visit(_))) {
        return Err(CaptureError::Script(
            "the first step must be `visit` (a page to start on)".into(),
        ));
    }
    Ok(script)
}

/// Screenshot format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// JPEG at the given quality.
    Jpeg,
    /// PNG.
    Png,
}

impl ImageFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
        }
    }
}

/// How to capture.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// The browser (`None`: `$INTERAREC_CHROMIUM`, then `chromium`, `chromium-browser`,
    /// `google-chrome` on the PATH).
    pub chromium: Option<PathBuf>,
    /// Viewport width and height in CSS pixels.
    pub viewport: (u32, u32),
    /// Time between screenshots (at least [`MIN_INTERVAL_MS`]).
    pub interval_ms: u64,
    /// Screenshot format.
    pub format: ImageFormat,
    /// JPEG quality (1–100).
    pub quality: u8,
    /// Save the visible DOM text beside each frame.
    pub dom_text: bool,
    /// Base of relative `visit` URLs.
    pub base_url: String,
    /// How long a step waits for its selector or page.
    pub step_timeout_ms: u64,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            chromium: None,
            viewport: (1280, 800),
            interval_ms: 2_000,
            format: ImageFormat::Jpeg,
            quality: 80,
            dom_text: false,
            base_url: "http://127.0.0.1:8080".into(),
            step_timeout_ms: DEFAULT_STEP_TIMEOUT_MS,
        }
    }
}

/// One screenshot.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedFrame {
    /// From 1.
    pub sequence: u64,
    /// When it was taken.
    pub captured_at_unix_ms: u64,
    /// The page's URL then.
    pub url: String,
    /// Viewport width.
    pub viewport_width: u32,
    /// Viewport height.
    pub viewport_height: u32,
    /// Format of `image`.
    pub format: ImageFormat,
    /// The bytes.
    pub image: Vec<u8>,
    /// Visible DOM text, when asked for.
    pub dom_text: Option<String>,
}

/// How a run went.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureReport {
    /// Frames sent.
    pub frames: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Screenshots that could not keep to the interval (the browser was slower).
    pub late: u64,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The script is malformed.
    #[error("the browsing script is not usable: {0}")]
    Script(String),
    /// No browser.
    #[error("{0}")]
    NoBrowser(String),
    /// The browser failed to start or died.
    #[error("Chromium failed: {0}")]
    Browser(String),
    /// A step failed.
    #[error("step {step} ({what}) failed: {detail}")]
    Step {
        /// 1-based step number.
        step: usize,
        /// The step, shortly.
        what: String,
        /// Why.
        detail: String,
    },
    /// The frame receiver went away.
    #[error("the frame receiver stopped; {0} frames were taken")]
    Receiver(u64),
}

/// Finds the browser to run.
pub fn find_chromium(explicit: Option<&Path>) -> Result<PathBuf, CaptureError> {
    if let Some(path) = explicit {
        return if path.exists() {
            Ok(path.to_owned())
        } else {
            Err(CaptureError::NoBrowser(format!(
                "no browser at {}; install Chromium (`apt-get install chromium`) or pass another --chromium",
                path.display()
            )))
        };
    }
    if let Ok(path) = std::env::var("INTERAREC_CHROMIUM") {
        return find_chromium(Some(Path::new(&path)));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(CaptureError::NoBrowser(
        "no Chromium found (looked for chromium, chromium-browser and google-chrome on the PATH); install it with `apt-get install chromium` or pass --chromium PATH".into(),
    ))
}

/// The visible text of the viewport: text nodes whose box intersects it, in document order.
const VISIBLE_TEXT_JS: &str = r#"(() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const text = node.textContent.replace(/\s+/g, ' ').trim();
    if (!text) continue;
    const style = node.parentElement && getComputedStyle(node.parentElement);
    if (style && (style.visibility === 'hidden' || style.display === 'none')) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const box = range.getBoundingClientRect();
    if (box.width > 0 && box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth) out.push(text);
  }
  return out.join('\n');
})()"#;

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn resolve(base: &str, url: &str) -> String {
    if url.contains("://") || url.starts_with("about:") {
        url.to_owned()
    } else {
        format!("{}/{}", base.trim_end_matches('/'), url.trim_start_matches('/'))
    }
}

/// Runs the script, sending a frame every interval from the first page on, and one after the
/// last step.
pub async fn capture(
    script: &Script,
    options: &CaptureOptions,
    frames: mpsc::Sender<CapturedFrame>,
) -> Result<CaptureReport, CaptureError> {
    let chromium = find_chromium(options.chromium.as_deref())?;
    let interval = Duration::from_millis(options.interval_ms.max(MIN_INTERVAL_MS));
    let profile = std::env::temp_dir().join(format!("interarec-chromium-{}-{}", std::process::id(), unix_millis()));
    let (width, height) = options.viewport;
    let config = BrowserConfig::builder()
        .chrome_executable(&chromium)
        .new_headless_mode()
        .no_sandbox()
        .user_data_dir(&profile)
        .window_size(width, height)
        .viewport(Viewport {
            width,
            height,
            device_scale_factor: Some(1.0),
            emulating_mobile: false,
            is_landscape: true,
            has_touch: false,
        })
        .args([
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .launch_timeout(Duration::from_secs(30))
        .build()
        .map_err(CaptureError::Browser)?;
    let (mut browser, mut handler) = Browser::launch(config)
        .await
        .map_err(|e| CaptureError::Browser(format!("{} could not start: {e}", chromium.display())))?;
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let result = run(script, options, interval, &browser, frames).await;
    let _ = browser.close().await;
    let _ = browser.wait().await;
    events.abort();
    let _ = std::fs::remove_dir_all(&profile);
    result
}

async fn run(
    script: &Script,
    options: &CaptureOptions,
    interval: Duration,
    browser: &Browser,
    frames: mpsc::Sender<CapturedFrame>,
) -> Result<CaptureReport, CaptureError> {
    let started = Instant::now();
    let page = browser
        .new_page("about:blank")
        .await
        .map_err(|e| CaptureError::Browser(format!("cannot open a tab: {e}")))?;
    let (stop_sender, mut stop) = tokio::sync::watch::channel(false);
    let mut shooter: Option<tokio::task::JoinHandle<Result<(u64, u64), CaptureError>>> = None;
    let mut outcome = Ok(());
    for (index, step) in script.steps.iter().enumerate() {
        // Every step is bounded, even one that waits on an unresponsive page.
        let bound = Duration::from_millis(options.step_timeout_ms) * 2;
        let performed = match tokio::time::timeout(bound, perform(&page, step, options)).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer from the browser within {} ms", bound.as_millis())),
        };
        if let Err(detail) = performed {
            outcome = Err(CaptureError::Step {
                step: index + 1,
                what: describe(step),
                detail,
            });
            break;
        }
        // Screenshots start once the first page is there (no frames of a blank tab).
        if shooter.is_none() {
            let (page, frames, options, mut stop) = (page.clone(), frames.clone(), options.clone(), stop.clone());
            shooter = Some(tokio::spawn(async move {
                let mut ticker = tokio::time::interval(interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                let (mut sequence, mut late) = (0u64, 0u64);
                // A screenshot asked for while a page is being replaced can go unanswered;
                // such a tick is skipped (counted as late), never waited on forever.
                let patience = (interval * 4).max(Duration::from_secs(3));
                loop {
                    tokio::select! {
                        _ = ticker.tick() => {}
                        _ = stop.changed() => return Ok((sequence, late)),
                    }
                    let taken = Instant::now();
                    let shot = tokio::select! {
                        shot = tokio::time::timeout(patience, shoot(&page, &options, sequence + 1)) => shot,
                        _ = stop.changed() => return Ok((sequence, late)),
                    };
                    let frame = match shot {
                        Ok(Ok(frame)) => frame,
                        Ok(Err(_)) | Err(_) => {
                            late += 1;
                            continue;
                        }
                    };
                    sequence += 1;
                    if taken.elapsed() > interval {
                        late += 1;
                    }
                    if frames.send(frame).await.is_err() {
                        return Err(CaptureError::Receiver(sequence - 1));
                    }
                }
            }));
        }
    }
    let _ = stop_sender.send(true);
    let (mut sent, late) = match shooter {
        Some(task) => task
            .await
            .map_err(|e| CaptureError::Browser(format!("the screenshot task failed: {e}")))??,
        None => (0, 0),
    };
    stop.borrow_and_update();
    // One frame of where the script ended, so its last step is always seen.
    if outcome.is_ok() && sent > 0 {
        let frame = tokio::time::timeout(Duration::from_secs(10), shoot(&page, options, sent + 1))
            .await
            .map_err(|_| CaptureError::Browser("the last screenshot got no answer within 10 s".into()))?
            .map_err(CaptureError::Browser)?;
        sent += 1;
        frames.send(frame).await.map_err(|_| CaptureError::Receiver(sent - 1))?;
    }
    outcome?;
    Ok(CaptureReport {
        frames: sent,
        elapsed: started.elapsed(),
        late,
    })
}

fn describe(step: &Step) -> String {
    match step {
        Step::Visit(url) => format!("visit {url}"),
        Step::Scroll(pixels) => format!("scroll {pixels}"),
        Step::Click(selector) => format!("click {selector}"),
        Step::Type { selector, .. } => format!("type into {selector}"),
        Step::Wait(ms) => format!("wait {ms} ms"),
        Step::WaitFor(selector) => format!("wait for {selector}"),
    }
}

async fn perform(page: &Page, step: &Step, options: &CaptureOptions) -> Result<(), String> {
    let timeout = Duration::from_millis(options.step_timeout_ms);
    match step {
        Step::Visit(url) => {
            let url = resolve(&options.base_url, url);
            tokio::time::timeout(timeout, page.goto(url.as_str()))
                .await
                .map_err(|_| format!("{url} did not load within {} ms", timeout.as_millis()))?
                .map_err(|e| format!("{url} did not load: {e}"))?;
            let status: Option<i64> = page
                .evaluate("(performance.getEntriesByType('navigation')[0] || {}).responseStatus || 0")
                .await
                .ok()
                .and_then(|r| r.into_value().ok());
            if let Some(status) = status.filter(|s| *s >= 400) {
                return Err(format!("{url} answered HTTP {status}"));
            }
            Ok(())
        }
        Step::Scroll(pixels) => page
            .evaluate(format!("window.scrollBy({{top: {pixels}, behavior: 'instant'}})"))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Step::Click(selector) => {
            let element = wait_for(page, selector, timeout).await?;
            element.scroll_into_view().await.map_err(|e| e.to_string())?;
            element.click().await.map_err(|e| e.to_string())?;
            Ok(())
        }
        Step::Type { selector, text, submit } => {
            let element = wait_for(page, selector, timeout).await?;
            element.click().await.map_err(|e| e.to_string())?;
            element.type_str(text).await.map_err(|e| e.to_string())?;
            if *submit {
                element.press_key("Enter").await.map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        Step::Wait(ms) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            Ok(())
        }
        Step::WaitFor(selector) => wait_for(page, selector, timeout).await.map(|_| ()),
    }
}

async fn wait_for(page: &Page, selector: &str, timeout: Duration) -> Result<chromiumoxide::Element, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(element) = page.find_element(selector).await {
            return Ok(element);
        }
        if Instant::now() >= deadline {
            return Err(format!("`{selector}` did not appear within {} ms", timeout.as_millis()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn shoot(page: &Page, options: &CaptureOptions, sequence: u64) -> Result<CapturedFrame, String> {
    let captured_at_unix_ms = unix_millis();
    let params = match options.format {
        ImageFormat::Jpeg => ScreenshotParams::builder()
            .format(CaptureScreenshotFormat::Jpeg)
            .quality(i64::from(options.quality.clamp(1, 100))),
        ImageFormat::Png => ScreenshotParams::builder().format(CaptureScreenshotFormat::Png),
    }
    .build();
    let image = page
        .screenshot(params)
        .await
        .map_err(|e| format!("screenshot {sequence} failed: {e}"))?;
    let url = page.url().await.ok().flatten().unwrap_or_default();
    // While a page is being replaced the text cannot be read; a frame whose ground truth was
    // asked for is only sent with it (the tick is skipped otherwise).
    let dom_text = if options.dom_text {
        let mut text = None;
        for _ in 0..3 {
            text = page
                .evaluate(VISIBLE_TEXT_JS)
                .await
                .ok()
                .and_then(|r| r.into_value::<String>().ok());
            if text.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(text.ok_or_else(|| format!("the visible text of frame {sequence} could not be read"))?)
    } else {
        None
    };
    Ok(CapturedFrame {
        sequence,
        captured_at_unix_ms,
        url,
        viewport_width: options.viewport.0,
        viewport_height: options.viewport.1,
        format: options.format,
        image,
        dom_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_read_from_json_or_yaml_and_bad_ones_are_explained() {
        let json = r##"{"name": "green", "intent": "green dresses", "steps": [{"visit": "/fashion"}, {"click": "a[data-filter='colour:green']"}, {"scroll": 600}, {"type": {"selector": "#search", "text": "midi", "submit": true}}, {"wait": 500}, {"wait_for": ".card"}]}"##;
        let yaml = "name: green\nintent: green dresses\nsteps:\n  - visit: /fashion\n  - click: \"a[data-filter='colour:green']\"\n  - scroll: 600\n  - type: {selector: '#search', text: midi, submit: true}\n  - wait: 500\n  - wait_for: .card\n";
        let from_json = parse_script(json).unwrap();
        assert_eq!(from_json, parse_script(yaml).unwrap());
        assert_eq!(from_json.steps.len(), 6);
        let cases = [
            (r#"{"name": "x", "steps": []}"#, "has no steps"),
            (
                r#"{"name": "x", "steps": [{"scroll": 5}]}"#,
                "first step must be `visit`",
            ),
            (
                r#"{"name": "x", "steps": [{"hover": "a"}]}"#,
                "invalid JSON: unknown variant `hover`",
            ),
            ("name: x\nsteps: 3\n", "invalid YAML"),
        ];
        for (text, expected) in cases {
            let error = parse_script(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn relative_urls_resolve_against_the_base() {
        assert_eq!(
            resolve("http://127.0.0.1:8080/", "/fashion"),
            "http://127.0.0.1:8080/fashion"
        );
        assert_eq!(
            resolve("http://127.0.0.1:8080", "homes?city=Pacifica"),
            "http://127.0.0.1:8080/homes?city=Pacifica"
        );
        assert_eq!(resolve("http://a", "https://b/c"), "https://b/c");
    }

    #[test]
    fn a_missing_browser_is_named_with_the_fix() {
        let error = find_chromium(Some(Path::new("/nonexistent/chromium")))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no browser at /nonexistent/chromium; install Chromium"),
            "{error}"
        );
    }
}
