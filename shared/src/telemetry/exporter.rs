//! The tracer provider: ids for every span, and an exporter when one is
//! configured.

use std::sync::Arc;

use opentelemetry_gcloud_trace::GcpCloudTraceExporter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter};
use tokio::sync::OnceCell;

use super::{TelemetryError, TelemetrySettings, TraceExporter};

/// Build the provider `settings` ask for. Spans follow their remote
/// parent's sampling decision and are all sampled when they start a trace.
///
/// # Errors
///
/// [`TelemetryError::NoRuntime`] when an exporter is configured outside a
/// Tokio runtime; [`TelemetryError::Exporter`] when the OTLP exporter cannot
/// be built.
pub(crate) fn provider(settings: &TelemetrySettings) -> Result<SdkTracerProvider, TelemetryError> {
    let builder = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .with_resource(
            Resource::builder()
                .with_service_name(settings.service.clone())
                .build(),
        );
    if settings.exporter != TraceExporter::None && tokio::runtime::Handle::try_current().is_err() {
        return Err(TelemetryError::NoRuntime);
    }
    let provider = match settings.exporter {
        TraceExporter::None => builder.build(),
        TraceExporter::Gcloud => {
            let exporter = LazyCloudTrace::new(settings.project.clone());
            // The Cloud Trace client is async (tonic); this processor runs
            // its exports on the Tokio runtime rather than a plain thread.
            let processor =
                BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
            builder.with_span_processor(processor).build()
        }
        TraceExporter::Otlp => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build()
                .map_err(|e| TelemetryError::Exporter(e.into()))?;
            builder.with_batch_exporter(exporter).build()
        }
    };
    Ok(provider)
}

/// The Cloud Trace exporter, connected on the first export: connecting is
/// async, and [`init`](super::init) is not.
#[derive(Debug)]
struct LazyCloudTrace {
    project: String,
    resource: Resource,
    inner: Arc<OnceCell<GcpCloudTraceExporter>>,
}

impl LazyCloudTrace {
    fn new(project: String) -> Self {
        LazyCloudTrace {
            project,
            resource: Resource::builder_empty().build(),
            inner: Arc::new(OnceCell::new()),
        }
    }
}

impl SpanExporter for LazyCloudTrace {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let inner = Arc::clone(&self.inner);
        let project = self.project.clone();
        let resource = self.resource.clone();
        async move {
            let exporter = inner
                .get_or_try_init(|| GcpCloudTraceExporter::new(&project, resource, false))
                .await
                .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
            exporter.export(batch).await
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}
