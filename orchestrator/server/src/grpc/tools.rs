//! `interarec.v1.ToolService`: wire types in, registry calls, wire types out.

use super::auth::Gate;
use super::paging;
use super::status::{self, session_status};
use crate::access::Scope;
use crate::registry::Registry;
use interarec_core::{Capability, Grant, RequestedLimits, ToolRecord};
use interarec_proto::convert;
use interarec_proto::v1 as pb;
use interarec_sessions::Sessions;
use pb::tool_service_server::ToolService;
use tonic::{Request, Response, Status};

/// The service implementation.
pub struct ToolRegistryService {
    registry: Registry,
    sessions: Sessions,
    gate: Gate,
}

impl ToolRegistryService {
    /// A service over `registry`; `gate` keeps the mutating calls for the admin, and a call
    /// naming one of `sessions` for that session's holder.
    pub fn new(registry: Registry, sessions: Sessions, gate: Gate) -> Self {
        ToolRegistryService {
            registry,
            sessions,
            gate,
        }
    }
}

/// The wire form of a capability.
fn wire_capability(capability: Capability) -> i32 {
    pb::Capability::from_name(capability.name()).unwrap_or(pb::Capability::Unspecified) as i32
}

fn tool_info(record: &ToolRecord) -> pb::ToolInfo {
    pb::ToolInfo {
        name: record.manifest.name.clone(),
        version: record.manifest.version.clone(),
        description: record.manifest.description.clone(),
        arguments_schema_json: record.manifest.arguments_schema.to_string(),
        requested_capabilities: record
            .manifest
            .capabilities
            .iter()
            .map(|c| wire_capability(*c))
            .collect(),
        grants: record
            .grants
            .iter()
            .map(|grant| pb::Grant {
                capability: wire_capability(grant.capability),
                hosts: grant.hosts.clone(),
            })
            .collect(),
        limits: Some(pb::ToolLimits {
            timeout: Some(convert::duration(std::time::Duration::from_millis(
                record.limits.timeout_ms,
            ))),
            memory_bytes: record.limits.memory_bytes,
            fuel: record.limits.fuel.unwrap_or(0),
        }),
        sha256: record.sha256.clone(),
        component_size: record.component_size,
        wit_version: record.wit_version.clone(),
        registered_at: Some(convert::timestamp(record.registered_at_unix_ms)),
    }
}

fn parse_grants(grants: Vec<pb::Grant>) -> Result<Vec<Grant>, Status> {
    grants
        .into_iter()
        .map(|grant| {
            let capability: Capability = grant.capability().name().parse().map_err(|_| {
                status::bad_field(
                    "grants.capability",
                    format!(
                        "grant capability {} is not one of the tool world's; use KV, FRAMES, MODELS, CATALOG or HTTP",
                        grant.capability
                    ),
                )
            })?;
            Grant::new(capability, grant.hosts).map_err(|e| status::bad_request(e.to_string()))
        })
        .collect()
}

fn nonzero(value: u64) -> Option<u64> {
    (value != 0).then_some(value)
}

#[tonic::async_trait]
impl ToolService for ToolRegistryService {
    async fn register_tool(
        &self,
        request: Request<pb::RegisterToolRequest>,
    ) -> Result<Response<pb::RegisterToolResponse>, Status> {
        self.gate.admin(&request, "registering a tool")?;
        let request = request.into_inner();
        if request.component.is_empty() {
            return Err(status::bad_request(
                "no component bytes were sent; send the .wasm file of the tool",
            ));
        }
        let grants = parse_grants(request.grants)?;
        let limits = request.limits.unwrap_or_default();
        let limits = RequestedLimits {
            timeout_ms: nonzero(convert::std_duration(limits.timeout.as_ref()).as_millis() as u64),
            memory_bytes: nonzero(limits.memory_bytes),
            fuel: nonzero(limits.fuel),
        };
        let registration = self
            .registry
            .register(request.component, grants, limits, request.replace)
            .await?;
        Ok(Response::new(pb::RegisterToolResponse {
            tool: Some(tool_info(&registration.record)),
            unchanged: registration.unchanged,
            replaced: registration.replaced,
        }))
    }

    async fn list_tools(
        &self,
        request: Request<pb::ListToolsRequest>,
    ) -> Result<Response<pb::ListToolsResponse>, Status> {
        self.gate.scoped(&request, Scope::Read, "listing tools")?;
        let request = request.into_inner();
        let (records, next_page_token) = paging::page(
            "tools",
            self.registry.list(),
            |record| record.manifest.name.as_str(),
            request.page_size,
            &request.page_token,
        )?;
        Ok(Response::new(pb::ListToolsResponse {
            tools: records.iter().map(tool_info).collect(),
            next_page_token,
        }))
    }

    async fn describe_tool(
        &self,
        request: Request<pb::DescribeToolRequest>,
    ) -> Result<Response<pb::DescribeToolResponse>, Status> {
        self.gate.scoped(&request, Scope::Read, "describing a tool")?;
        let record = self.registry.describe(&request.into_inner().name)?;
        Ok(Response::new(pb::DescribeToolResponse {
            tool: Some(tool_info(&record)),
        }))
    }

    async fn invoke_tool(
        &self,
        request: Request<pb::InvokeToolRequest>,
    ) -> Result<Response<pb::InvokeToolResponse>, Status> {
        self.gate.scoped(&request, Scope::ToolsInvoke, "invoking a tool")?;
        if !request.get_ref().session_id.is_empty() {
            let session = &request.get_ref().session_id;
            self.gate
                .session(&request, &self.sessions, session, "invoking a tool")
                .await?;
            // The admin skips the credential, not the session's existence: a tool's state is
            // never kept for a session that is not there.
            self.sessions.get(session).await.map_err(session_status)?;
        }
        let request = request.into_inner();
        let arguments = if request.arguments_json.trim().is_empty() {
            "{}"
        } else {
            request.arguments_json.as_str()
        };
        let invocation = self
            .registry
            .invoke(&request.name, arguments, &request.session_id)
            .await?;
        Ok(Response::new(pb::InvokeToolResponse {
            result_json: invocation.result_json,
            tool_version: invocation.tool_version,
            duration: Some(convert::duration(invocation.duration)),
        }))
    }

    async fn remove_tool(
        &self,
        request: Request<pb::RemoveToolRequest>,
    ) -> Result<Response<pb::RemoveToolResponse>, Status> {
        self.gate.admin(&request, "removing a tool")?;
        let record = self.registry.remove(&request.into_inner().name).await?;
        Ok(Response::new(pb::RemoveToolResponse {
            tool: Some(tool_info(&record)),
        }))
    }
}
