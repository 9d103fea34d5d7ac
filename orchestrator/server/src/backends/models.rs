//! The `models` capability's backend: the calling session's model provider, with images
//! resolved from its frames. Two providers: the embedded offline vision engine (the default:
//! OCR, page reading and the eight categories, no network) and the server's OpenAI-compatible
//! endpoint (when one is configured); each session names one, or takes the server's default.
//! OCR runs once per stored frame, cached in the store by engine and content hash; a background
//! worker reads frames as they arrive so summaries find them ready.

use image::GrayImage;
use interarec_core::telemetry;
use interarec_llm::Provider;
use interarec_llm::chat::{ChatMessage, ChatProvider, ChatRequest, Part};
use interarec_llm::openai::{OpenAiConfig, OpenAiProvider};
use interarec_plugin_host::{ModelAnswer, ModelFailure, ModelFuture, ModelPart, ModelRequest, ModelsBackend};
use interarec_store::Store;
use interarec_vision::ocr::{OcrChoice, OcrEngine, OcrPage, PreviousFrame, read_after};
use interarec_vision::{ItemIndex, ItemIndexBuilder, SeenFrame, Vocabulary, summarize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Frames waiting for background OCR; beyond this, frames are read when a summary needs them.
const OCR_QUEUE: usize = 10_000;
/// Most threads reading the pages of one summary at once.
const MAX_OCR_THREADS: usize = 4;

/// Vision settings of a server.
#[derive(Debug, Clone)]
pub struct VisionConfig {
    /// Who answers `models.chat` for sessions that do not choose.
    pub provider: Provider,
    /// OCR engine of the offline provider.
    pub ocr: OcrChoice,
    /// Read frames as they arrive (offline provider only).
    pub ocr_on_arrival: bool,
    /// Read a frame against the one before it in its session: only what changed or scrolled
    /// into view is read again ([`interarec_vision::ocr::read_after`]).
    pub ocr_incremental: bool,
}

impl Default for VisionConfig {
    fn default() -> Self {
        VisionConfig {
            provider: Provider::Offline,
            ocr: OcrChoice::Paddle {
                models_dir: interarec_vision::ocr::default_models_dir(),
                size: interarec_vision::ocr::PaddleSize::Small,
            },
            ocr_on_arrival: true,
            ocr_incremental: true,
        }
    }
}

type PageSlot = Arc<OnceLock<Result<OcrPage, String>>>;

/// OCR pages by frame content, computed once.
pub struct OcrPages {
    store: Store,
    choice: OcrChoice,
    incremental: bool,
    engine: OnceLock<Result<Arc<dyn OcrEngine>, String>>,
    in_flight: Mutex<HashMap<String, PageSlot>>,
    queue: Mutex<Option<std::sync::mpsc::SyncSender<(String, Option<String>)>>>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
}

impl OcrPages {
    /// Pages over the store, read by the chosen engine (loaded on first use, so a server whose
    /// models are missing still starts and says why when OCR is needed); `incremental` reads a
    /// frame against the one before it when that one's page is known.
    pub fn new(store: Store, choice: OcrChoice, incremental: bool) -> Arc<OcrPages> {
        Arc::new(OcrPages {
            store,
            choice,
            incremental,
            engine: OnceLock::new(),
            in_flight: Mutex::default(),
            queue: Mutex::new(None),
            worker: Mutex::new(None),
            stopping: Arc::default(),
        })
    }

    fn engine(&self) -> Result<Arc<dyn OcrEngine>, String> {
        self.engine
            .get_or_init(|| self.choice.load().map_err(|e| e.to_string()))
            .clone()
    }

    /// Starts the background reader (one thread: OCR is CPU-bound and the server has other work).
    pub fn start_worker(self: &Arc<Self>) {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<(String, Option<String>)>(OCR_QUEUE);
        let pages = Arc::downgrade(self);
        let stopping = self.stopping.clone();
        let spawned = std::thread::Builder::new().name("interarec-ocr".into()).spawn(move || {
            // Reading ahead is background work: it gives way to calls clients wait on.
            crate::background::lower_this_thread();
            while let Ok((frame_id, previous)) = receiver.recv() {
                if stopping.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                let Some(pages) = pages.upgrade() else { return };
                // An engine that cannot load fails every frame the same way: say it once.
                if let Err(error) = pages.engine() {
                    tracing::warn!("OCR on arrival is off: {error}");
                    pages.queue.lock().expect("ocr queue").take();
                    return;
                }
                // A panicking engine fails that frame, not the reader: the next frame is read.
                if let Err(error) = guarded(|| pages.page_after(&frame_id, previous.as_deref())) {
                    tracing::warn!(frame = %frame_id, "OCR on arrival failed: {error}");
                }
            }
        });
        match spawned {
            Ok(worker) => {
                *self.queue.lock().expect("ocr queue") = Some(sender);
                *self.worker.lock().expect("ocr worker") = Some(worker);
            }
            Err(e) => tracing::warn!("cannot start the OCR worker ({e}); frames will be read when summarised"),
        }
    }

    /// Stops the background reader: queued frames are left (they are read when a summary needs
    /// them), the page being read is finished. Blocking.
    pub fn stop_worker(&self) {
        self.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
        self.queue.lock().expect("ocr queue").take();
        if let Some(worker) = self.worker.lock().expect("ocr worker").take() {
            let _ = worker.join();
        }
    }

    /// Queues a stored frame for reading, with the frame before it in its session (if any);
    /// never blocks (a full queue leaves it for later).
    pub fn prefetch(&self, frame_id: &str, previous: Option<&str>) {
        if let Some(queue) = self.queue.lock().expect("ocr queue").as_ref() {
            let _ = queue.try_send((frame_id.to_owned(), previous.map(str::to_owned)));
        }
    }

    /// The cached page of a frame, if it was read.
    fn cached(&self, key: &str) -> Result<Option<OcrPage>, String> {
        match self.store.ocr_page(key).map_err(|e| e.to_string())? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("the cached OCR page {key} is corrupt: {e}")),
            None => Ok(None),
        }
    }

    /// The OCR page of a stored frame (by content hash): from the store, or read now (once,
    /// however many callers ask at the same time). Blocking.
    pub fn page(&self, frame_id: &str) -> Result<OcrPage, String> {
        self.page_after(frame_id, None)
    }

    /// Like [`OcrPages::page`], reading the frame against `previous` (the frame before it in its
    /// session) when incremental reading is on and that frame's page is already known.
    pub fn page_after(&self, frame_id: &str, previous: Option<&str>) -> Result<OcrPage, String> {
        let engine = self.engine()?;
        let key = format!("{}/{frame_id}", engine.name());
        if let Some(page) = self.cached(&key)? {
            return Ok(page);
        }
        let slot = self
            .in_flight
            .lock()
            .expect("ocr in flight")
            .entry(key.clone())
            .or_default()
            .clone();
        let result = slot
            .get_or_init(|| {
                let bytes = self
                    .store
                    .frame_bytes(frame_id)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no stored frame with content {frame_id}"))?;
                let image =
                    image::load_from_memory(&bytes).map_err(|e| format!("frame {frame_id} cannot be decoded: {e}"))?;
                let before = self.previous_frame(engine.name(), frame_id, previous);
                let started = std::time::Instant::now();
                let page = read_after(
                    engine.as_ref(),
                    &image,
                    before.as_ref().map(|(grey, page)| PreviousFrame { image: grey, page }),
                )
                .map_err(|e| e.to_string())?;
                metrics::histogram!(telemetry::OCR_FRAME_DURATION, "engine" => engine.name().to_owned())
                    .record(started.elapsed().as_secs_f64());
                let json = serde_json::to_vec(&page).map_err(|e| e.to_string())?;
                self.store.put_ocr_page(&key, &json).map_err(|e| e.to_string())?;
                Ok(page)
            })
            .clone();
        self.in_flight.lock().expect("ocr in flight").remove(&key);
        result
    }

    /// The previous frame's pixels and page, when incremental reading is on and it was read;
    /// anything missing means a full read.
    fn previous_frame(&self, engine: &str, frame_id: &str, previous: Option<&str>) -> Option<(GrayImage, OcrPage)> {
        let previous = previous.filter(|p| self.incremental && *p != frame_id)?;
        let page = self.cached(&format!("{engine}/{previous}")).ok().flatten()?;
        let bytes = self.store.frame_bytes(previous).ok().flatten()?;
        let grey = image::load_from_memory(&bytes).ok()?.to_luma8();
        Some((grey, page))
    }

    /// The engine's name, or why it cannot load.
    pub fn engine_name(&self) -> Result<String, String> {
        self.engine().map(|e| e.name().to_owned())
    }
}

/// Runs one read of the background reader; a panic inside it becomes that read's error.
fn guarded<T>(read: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Err(format!(
            "the OCR engine panicked ({message}); the reader goes on with the next frame"
        ))
    })
}

/// The server's `models` backend.
pub struct Vision {
    store: Store,
    pages: Arc<OcrPages>,
    default: Provider,
    network: Option<Arc<OpenAiProvider>>,
    readers: Arc<CatalogReaders>,
}

/// The offline engine's view of a catalog: its words and its items indexed by title.
struct CatalogReader {
    imported_at_unix_ms: u64,
    vocabulary: Vocabulary,
    items: ItemIndex,
}

/// Catalog readers by catalog id, built once per import (a replaced catalog has a new import
/// time) so a summary does not re-read and re-index the catalog.
#[derive(Default)]
struct CatalogReaders {
    by_catalog: Mutex<HashMap<String, Arc<CatalogReader>>>,
}

/// Most catalogs whose readers are kept.
const CATALOG_READERS: usize = 16;

impl CatalogReaders {
    fn reader_of(&self, store: &Store, session: &str) -> Result<Arc<CatalogReader>, ModelFailure> {
        let empty = || {
            Arc::new(CatalogReader {
                imported_at_unix_ms: 0,
                vocabulary: Vocabulary::default(),
                items: ItemIndex::default(),
            })
        };
        let Some(record) = store
            .get_session(session)
            .map_err(|e| ModelFailure::Failed(e.to_string()))?
        else {
            return Ok(empty());
        };
        let Some(catalog) = store.get_catalog(&record.catalog_id).ok().flatten() else {
            return Ok(empty());
        };
        if let Some(reader) = self.by_catalog.lock().expect("catalog readers").get(&catalog.id)
            && reader.imported_at_unix_ms == catalog.imported_at_unix_ms
        {
            return Ok(reader.clone());
        }
        let vocabulary = Vocabulary::from_schema(&catalog.attributes);
        // Row by row: a million items are never held as items and as their index at once.
        let attributes = vocabulary.attributes();
        let mut index = ItemIndexBuilder::new(&attributes);
        store
            .for_each_catalog_item(&catalog.id, |item| index.push(&item))
            .map_err(|e| ModelFailure::Failed(format!("the catalog `{}` cannot be read: {e}", catalog.id)))?;
        let reader = Arc::new(CatalogReader {
            imported_at_unix_ms: catalog.imported_at_unix_ms,
            items: index.finish(),
            vocabulary,
        });
        let mut readers = self.by_catalog.lock().expect("catalog readers");
        if readers.len() >= CATALOG_READERS && !readers.contains_key(&catalog.id) {
            readers.clear();
        }
        readers.insert(catalog.id.clone(), reader.clone());
        Ok(reader)
    }
}

impl Vision {
    /// The backend for a configuration and the server's OpenAI-compatible endpoint (if any).
    pub fn new(store: Store, config: &VisionConfig, openai: Option<&OpenAiConfig>) -> anyhow::Result<Vision> {
        let pages = OcrPages::new(store.clone(), config.ocr.clone(), config.ocr_incremental);
        if config.ocr_on_arrival {
            pages.start_worker();
        }
        let network = openai
            .map(|openai| OpenAiProvider::new(openai.clone()).map(Arc::new))
            .transpose()?;
        Ok(Vision {
            store,
            pages,
            default: config.provider,
            network,
            readers: Arc::default(),
        })
    }

    /// The provider a session uses: its own choice, else the server's default.
    fn provider_of(&self, session: &str) -> Provider {
        self.store
            .get_session(session)
            .ok()
            .flatten()
            .and_then(|record| Provider::parse(&record.vision_provider).ok())
            .unwrap_or(self.default)
    }

    /// The OCR pages (the sessions queue arriving frames here).
    pub fn pages(&self) -> Arc<OcrPages> {
        self.pages.clone()
    }

    fn frame_of(store: &Store, session: &str, frame: &str) -> Result<interarec_core::session::FrameMeta, ModelFailure> {
        let sequence: u64 = frame.parse().map_err(|_| {
            ModelFailure::Invalid(format!("`{frame}` is not a frame id (frame ids are sequence numbers)"))
        })?;
        store
            .frame(session, sequence)
            .map_err(|e| ModelFailure::Failed(e.to_string()))?
            .ok_or_else(|| ModelFailure::Invalid(format!("session `{session}` has no frame `{frame}`")))
    }

    /// The offline engine: OCR (cached), page reading against the session catalog's words.
    fn offline(
        store: &Store,
        pages: &OcrPages,
        readers: &CatalogReaders,
        session: &str,
        request: &ModelRequest,
    ) -> Result<ModelAnswer, ModelFailure> {
        let frames: Vec<&str> = request
            .messages
            .iter()
            .flat_map(|m| m.parts.iter())
            .filter_map(|p| match p {
                ModelPart::Frame(id) => Some(id.as_str()),
                ModelPart::Text(_) => None,
            })
            .collect();
        if frames.is_empty() {
            return Err(ModelFailure::Invalid(
                "the offline vision engine reads screenshots and answers with the eight-category summary; send at least one frame, or configure a network model provider for other requests".into(),
            ));
        }
        let reader = readers.reader_of(store, session)?;
        let metas = frames
            .iter()
            .map(|frame| Self::frame_of(store, session, frame))
            .collect::<Result<Vec<_>, _>>()?;
        // Pages not read yet (OCR on arrival is off, or behind) are read on several cores: a
        // batch's summary waits for its slowest page, not for their sum. Each thread reads a run
        // of consecutive frames in order, so each frame can be read against the one before it.
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(MAX_OCR_THREADS)
            .min(metas.len());
        let before_batch = metas
            .first()
            .and_then(|first| first.sequence.checked_sub(1))
            .and_then(|sequence| store.frame(session, sequence).ok().flatten())
            .map(|meta| meta.frame_id);
        let run_length = metas.len().div_ceil(workers.max(1));
        let slots: Vec<Mutex<Option<Result<SeenFrame, String>>>> = metas.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for run in 0..workers {
                let (metas, slots, before_batch) = (&metas, &slots, &before_batch);
                scope.spawn(move || {
                    for index in run * run_length..((run + 1) * run_length).min(metas.len()) {
                        let meta = &metas[index];
                        let previous = match index {
                            0 => before_batch.as_deref(),
                            _ => Some(metas[index - 1].frame_id.as_str()),
                        };
                        let seen = pages.page_after(&meta.frame_id, previous).map(|page| SeenFrame {
                            page,
                            url: Some(meta.url.clone()).filter(|url| !url.is_empty()),
                            image: store
                                .frame_bytes(&meta.frame_id)
                                .ok()
                                .flatten()
                                .and_then(|bytes| image::load_from_memory(&bytes).ok())
                                .map(|image| image.to_rgb8()),
                        });
                        *slots[index].lock().expect("page slot") = Some(seen);
                    }
                });
            }
        });
        let mut seen = Vec::with_capacity(slots.len());
        for slot in slots {
            let read = slot
                .into_inner()
                .expect("page slot")
                .unwrap_or_else(|| Err("a page reader stopped".into()));
            seen.push(read.map_err(ModelFailure::Failed)?);
        }
        let summary = summarize(&seen, &reader.vocabulary, &reader.items);
        tracing::debug!(
            session,
            cards = summary.cards_seen,
            recognised = summary.cards_recognised,
            evidence = ?summary.evidence,
            "offline summary"
        );
        Ok(ModelAnswer {
            text: summary.json.to_string(),
            model: format!(
                "interarec-offline-vision/{} ({})",
                env!("CARGO_PKG_VERSION"),
                pages.engine_name().unwrap_or_default()
            ),
            prompt_tokens: 0,
            completion_tokens: 0,
        })
    }
}

/// Sessions read frames ahead through this.
impl interarec_sessions::FrameReader for OcrPages {
    fn prefetch(&self, frame_id: &str, previous: Option<&str>) {
        OcrPages::prefetch(self, frame_id, previous);
    }
}

impl ModelsBackend for Vision {
    fn chat(&self, session: &str, request: ModelRequest) -> ModelFuture {
        let store = self.store.clone();
        let session = session.to_owned();
        let provider = self.provider_of(&session);
        match (provider, &self.network) {
            (Provider::OpenAi, None) => Box::pin(async move {
                Err(ModelFailure::Invalid(format!(
                    "session `{session}` reads screenshots with the `openai` provider, but this server has no OpenAI-compatible endpoint; start it with --openai-base-url"
                )))
            }),
            (Provider::Offline, _) => {
                let pages = self.pages.clone();
                let readers = self.readers.clone();
                Box::pin(async move {
                    tokio::task::spawn_blocking(move || Self::offline(&store, &pages, &readers, &session, &request))
                        .await
                        .map_err(|e| ModelFailure::Failed(format!("the offline vision engine stopped: {e}")))?
                })
            }
            (Provider::OpenAi, Some(provider)) => {
                let provider = provider.clone();
                Box::pin(async move {
                    let mut messages = Vec::with_capacity(request.messages.len());
                    for message in request.messages {
                        let mut parts = Vec::with_capacity(message.parts.len());
                        for part in message.parts {
                            parts.push(match part {
                                ModelPart::Text(text) => Part::Text(text),
                                ModelPart::Frame(frame) => {
                                    let meta = Self::frame_of(&store, &session, &frame)?;
                                    let bytes = store
                                        .frame_bytes(&meta.frame_id)
                                        .map_err(|e| ModelFailure::Failed(e.to_string()))?
                                        .ok_or_else(|| {
                                            ModelFailure::Failed(format!("frame `{frame}` has no stored image"))
                                        })?;
                                    Part::Image { mime: meta.mime, bytes }
                                }
                            });
                        }
                        messages.push(ChatMessage {
                            role: message.role,
                            parts,
                            ..ChatMessage::default()
                        });
                    }
                    let answer = provider
                        .chat(ChatRequest {
                            messages,
                            max_tokens: request.max_tokens,
                            temperature: request.temperature,
                            json_response: request.json_response,
                            tools: Vec::new(),
                        })
                        .await
                        .map_err(|e| ModelFailure::Failed(e.to_string()))?;
                    Ok(ModelAnswer {
                        text: answer.text,
                        model: answer.model,
                        prompt_tokens: answer.prompt_tokens,
                        completion_tokens: answer.completion_tokens,
                    })
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_read_fails_that_read_only() {
        let reads: Vec<Result<u32, String>> = vec![
            guarded(|| Ok(1)),
            guarded(|| panic!("tract: shape mismatch")),
            guarded(|| Err("no stored frame".to_owned())),
            guarded(|| Ok(4)),
        ];
        assert_eq!(reads[0], Ok(1));
        assert!(
            reads[1]
                .as_ref()
                .unwrap_err()
                .contains("panicked (tract: shape mismatch)")
        );
        assert_eq!(reads[2], Err("no stored frame".to_owned()));
        assert_eq!(reads[3], Ok(4));
    }
}
