//! `interarec.v1.ChoiceModelService`: the fitting stream, model queries and `Optimize`.

use super::auth::Gate;
use super::{paging, status};
use crate::access::Scope;
use crate::models::{MAX_FIT_BYTES, Models};
use interarec_choice::estimation::FitOptions;
use interarec_choice::model::ChoiceModel;
use interarec_datasets::fitting::{FitSpec, Progress, Source};
use interarec_proto::convert;
use interarec_proto::v1 as pb;
use pb::choice_model_service_server::ChoiceModelService;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// Progress events buffered per fit; a slow reader slows the fit instead of growing memory.
const PROGRESS_BUFFER: usize = 64;

/// The service implementation.
pub struct ChoiceModelServiceImpl {
    models: Models,
    gate: Gate,
}

impl ChoiceModelServiceImpl {
    /// A service over `models`; `gate` keeps fitting and removal for the admin.
    pub fn new(models: Models, gate: Gate) -> Self {
        ChoiceModelServiceImpl { models, gate }
    }
}

fn model_info(model: &ChoiceModel, include_parameters: bool) -> Result<pb::ChoiceModelInfo, Status> {
    let provenance = &model.provenance;
    Ok(pb::ChoiceModelInfo {
        model_id: model.id.clone(),
        catalog_id: model.catalog_id.clone().unwrap_or_default(),
        created_at: Some(convert::timestamp(model.created_at_unix_ms)),
        no_purchase_share: model.no_purchase_share,
        provenance: Some(pb::ModelProvenance {
            source: provenance.source.clone(),
            data_sha256: provenance.data_sha256.clone(),
            data_bytes: provenance.data_bytes,
            lines: provenance.lines,
            skipped: provenance.skipped.clone().into_iter().collect(),
            choice_sets: provenance.choice_sets.clone(),
            segment_by: provenance.segment_by.clone().unwrap_or_default(),
            method: provenance.method.clone(),
            outside_option: provenance.outside_option.clone(),
            fit_duration: Some(convert::duration(std::time::Duration::from_secs_f64(
                provenance.fit_ms.max(0.0) / 1e3,
            ))),
            notes: provenance.notes.clone(),
        }),
        segments: model
            .segments
            .iter()
            .map(|segment| pb::SegmentInfo {
                name: segment.name.clone(),
                price_coefficient: segment.price_coefficient,
                price_standard_error: segment.price_standard_error,
                log_likelihood: segment.log_likelihood,
                null_log_likelihood: segment.null_log_likelihood,
                iterations: segment.iterations,
                converged: segment.converged,
                choices_used: segment.choices_used,
                groups: segment.groups,
                items: segment.items.len() as u64,
                unidentified_items: segment.unidentified_items,
            })
            .collect(),
        model_json: if include_parameters {
            serde_json::to_string(model).map_err(|e| status::internal(format!("cannot encode the model: {e}")))?
        } else {
            String::new()
        },
    })
}

fn progress_event(progress: Progress) -> pb::FitChoiceModelResponse {
    let event = match progress {
        Progress::Read { lines, rows, skipped } => pb::FitProgress {
            stage: "read".into(),
            lines,
            rows,
            skipped,
            message: format!("read {lines} lines: {rows} usable, {skipped} skipped"),
            ..Default::default()
        },
        Progress::SegmentStarted {
            segment,
            position,
            of,
            groups,
            choices,
        } => pb::FitProgress {
            stage: "segment-started".into(),
            message: format!("fitting segment `{segment}` ({position}/{of}): {groups} groups, {choices} choices"),
            segment,
            position: position as u32,
            of: of as u32,
            ..Default::default()
        },
        Progress::Iteration { segment, report } => pb::FitProgress {
            stage: "iteration".into(),
            segment,
            iteration: report.iteration,
            log_likelihood: report.log_likelihood,
            decrement: report.decrement,
            ..Default::default()
        },
        Progress::SegmentDone {
            segment,
            log_likelihood,
            iterations,
            ms,
        } => pb::FitProgress {
            stage: "segment-done".into(),
            message: format!(
                "segment `{segment}`: log-likelihood {log_likelihood:.1} after {iterations} iterations in {ms:.0} ms"
            ),
            segment,
            iteration: iterations,
            log_likelihood,
            ..Default::default()
        },
        Progress::SegmentSkipped { segment, reason } => pb::FitProgress {
            stage: "segment-skipped".into(),
            message: format!("segment `{segment}` not fitted: {reason}"),
            segment,
            ..Default::default()
        },
    };
    pb::FitChoiceModelResponse {
        event: Some(pb::fit_choice_model_response::Event::Progress(event)),
    }
}

#[tonic::async_trait]
impl ChoiceModelService for ChoiceModelServiceImpl {
    type FitChoiceModelStream = ReceiverStream<Result<pb::FitChoiceModelResponse, Status>>;

    async fn fit_choice_model(
        &self,
        request: Request<Streaming<pb::FitChoiceModelRequest>>,
    ) -> Result<Response<Self::FitChoiceModelStream>, Status> {
        self.gate.admin(&request, "fitting a choice model")?;
        let mut stream = request.into_inner();
        let header = match stream.message().await? {
            Some(pb::FitChoiceModelRequest {
                part: Some(pb::fit_choice_model_request::Part::Header(header)),
            }) => header,
            _ => {
                return Err(status::bad_request(
                    "the first message of a fit must be its header (model id, format, ...)",
                ));
            }
        };
        let source = match pb::TransactionFormat::try_from(header.format) {
            Ok(pb::TransactionFormat::TaFeng) => Source::TaFeng,
            Ok(pb::TransactionFormat::TransactionsCsv) => Source::TransactionsCsv,
            _ => {
                return Err(status::bad_request(
                    "the fit header needs a format: TA_FENG or TRANSACTIONS_CSV",
                ));
            }
        };
        self.models.check_new(&header.model_id, header.replace)?;
        let spec = FitSpec {
            model_id: header.model_id,
            catalog_id: Some(header.catalog_id).filter(|c| !c.is_empty()),
            source,
            segment_by: Some(header.segment_by).filter(|s| !s.trim().is_empty()),
            no_purchase_share: if header.no_purchase_share == 0.0 {
                0.5
            } else {
                header.no_purchase_share
            },
            options: FitOptions {
                max_iterations: if header.max_iterations == 0 {
                    100
                } else {
                    header.max_iterations
                },
                ..FitOptions::default()
            },
            min_segment_choices: if header.min_segment_choices == 0 {
                1_000.0
            } else {
                header.min_segment_choices as f64
            },
        };
        let (sender, receiver) = mpsc::channel(PROGRESS_BUFFER);
        let models = self.models.clone();
        let replace = header.replace;
        tokio::spawn(async move {
            let mut data = Vec::new();
            loop {
                match stream.message().await {
                    Ok(None) => break,
                    Ok(Some(pb::FitChoiceModelRequest {
                        part: Some(pb::fit_choice_model_request::Part::Chunk(chunk)),
                    })) => {
                        if data.len() + chunk.len() > MAX_FIT_BYTES {
                            let _ = sender
                                .send(Err(status::bad_request(format!(
                                    "the transaction log is over the {MAX_FIT_BYTES}-byte limit; fit a smaller extract"
                                ))))
                                .await;
                            return;
                        }
                        data.extend_from_slice(&chunk);
                    }
                    Ok(Some(_)) => {
                        let _ = sender
                            .send(Err(status::bad_request(
                                "only the first message of a fit may be a header",
                            )))
                            .await;
                        return;
                    }
                    Err(status) => {
                        let _ = sender.send(Err(status)).await;
                        return;
                    }
                }
            }
            let received = pb::FitProgress {
                stage: "received".into(),
                bytes: data.len() as u64,
                message: format!("received {} bytes", data.len()),
                ..Default::default()
            };
            let _ = sender
                .send(Ok(pb::FitChoiceModelResponse {
                    event: Some(pb::fit_choice_model_response::Event::Progress(received)),
                }))
                .await;
            let progress_sender = sender.clone();
            // Called on the fitting thread: blocking on a full buffer is the back-pressure.
            let progress = move |progress: Progress| {
                let _ = progress_sender.blocking_send(Ok(progress_event(progress)));
            };
            let result = match models.fit(spec, replace, data, progress).await {
                Ok(model) => model_info(&model, false).map(|info| pb::FitChoiceModelResponse {
                    event: Some(pb::fit_choice_model_response::Event::Model(info)),
                }),
                Err(error) => Err(Status::from(error)),
            };
            let _ = sender.send(result).await;
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn get_choice_model(
        &self,
        request: Request<pb::GetChoiceModelRequest>,
    ) -> Result<Response<pb::GetChoiceModelResponse>, Status> {
        self.gate.scoped(&request, Scope::Read, "reading a choice model")?;
        let request = request.into_inner();
        let model = self.models.get(&request.model_id)?;
        Ok(Response::new(pb::GetChoiceModelResponse {
            model: Some(model_info(&model, request.include_parameters)?),
        }))
    }

    async fn list_choice_models(
        &self,
        request: Request<pb::ListChoiceModelsRequest>,
    ) -> Result<Response<pb::ListChoiceModelsResponse>, Status> {
        self.gate.scoped(&request, Scope::Read, "listing choice models")?;
        let request = request.into_inner();
        let (models, next_page_token) = paging::page(
            "choice models",
            self.models.list()?,
            |model| model.id.as_str(),
            request.page_size,
            &request.page_token,
        )?;
        let models = models
            .iter()
            .map(|model| model_info(model, false))
            .collect::<Result<_, _>>()?;
        Ok(Response::new(pb::ListChoiceModelsResponse {
            models,
            next_page_token,
        }))
    }

    async fn remove_choice_model(
        &self,
        request: Request<pb::RemoveChoiceModelRequest>,
    ) -> Result<Response<pb::RemoveChoiceModelResponse>, Status> {
        self.gate.admin(&request, "removing a choice model")?;
        let model = self.models.remove(&request.into_inner().model_id).await?;
        Ok(Response::new(pb::RemoveChoiceModelResponse {
            model: Some(model_info(&model, false)?),
        }))
    }

    async fn optimize(&self, request: Request<pb::OptimizeRequest>) -> Result<Response<pb::OptimizeResponse>, Status> {
        self.gate
            .scoped(&request, Scope::Optimize, "optimizing an assortment")?;
        let request = request.into_inner();
        let segment = Some(request.segment).filter(|s| !s.is_empty());
        let optimized = self
            .models
            .optimize(
                &request.catalog_id,
                &request.model_id,
                segment,
                &request.constraints_json,
            )
            .await?;
        let answer = optimized.recommendation;
        Ok(Response::new(pb::OptimizeResponse {
            items: answer
                .items
                .into_iter()
                .map(|item| pb::RecommendedItem {
                    id: item.id,
                    title: item.title,
                    price: item.price,
                    probability: item.probability,
                })
                .collect(),
            expected_revenue: answer.expected_revenue,
            no_purchase_probability: answer.no_purchase_probability,
            certificate: Some(pb::OptimalityCertificate {
                lambda: answer.certificate.lambda,
                h_lambda: answer.certificate.h_lambda,
                v0_lambda: answer.certificate.v0_lambda,
                holds: answer.certificate.holds,
            }),
            iterations: answer.iterations,
            empty_reason: answer.empty_reason.unwrap_or_default(),
            segment: answer.segment,
            catalog_items: answer.catalog_items as u64,
            eligible_items: answer.eligible_items as u64,
            without_estimate: answer.without_estimate as u64,
            compute_duration: Some(convert::duration(std::time::Duration::from_secs_f64(
                optimized.compute_ms.max(0.0) / 1e3,
            ))),
        }))
    }
}
