//! asr-postprocess: turns what a speech recognizer returned into the clean,
//! speaker-turned transcript the summarizer reads.
//!
//! | module | role |
//! | --- | --- |
//! | [`input`] | detects the format (Speech-to-Text v2, Whisper) and reads timed words |
//! | `speakers` | renames diarization labels uniformly (S1, S2, ...) |
//! | `token` | splits words into tokens: a Latin word or a Han character each |
//! | `cleanup` | removes fillers and stutters, marking rather than deleting |
//! | `punctuate` | sentence casing and end punctuation |
//! | [`turns`] | groups tokens into speaker turns |
//! | [`stats`] | counts speakers, words, fillers, talk time |
//! | [`settings`] | configuration from `ASR_*` environment variables, with defaults |
//! | `pipeline` | [`Pipeline::process`]: the pure path from raw body to [`Transcript`] |
//! | `operation` | [`AsrPostprocess`]: the tasklane operation, Postgres in and out |

mod cleanup;
pub mod input;
mod operation;
mod pipeline;
mod punctuate;
pub mod settings;
mod speakers;
pub mod stats;
mod token;
pub mod turns;

pub use input::{FormatError, RawFormat, detect};
pub use operation::{AsrPostprocess, Input, clean_transcript, spec, summarize_task_name};
pub use pipeline::{Pipeline, Transcript, render_text};
pub use settings::{Settings, SettingsError};
pub use stats::{SpeakerStats, Stats};
pub use turns::{LowConfidenceWord, Turn};
