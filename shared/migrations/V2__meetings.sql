-- Domain tables. Task payloads carry ids; the data lives here.
CREATE TABLE meetings (
    id          text        PRIMARY KEY,
    title       text        NOT NULL DEFAULT '',
    language    text        NOT NULL DEFAULT 'en',
    started_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Raw ASR output as the recognizer returned it (Speech-to-Text v2 or
-- Whisper verbose_json); `format` is what the importer detected or was told.
CREATE TABLE raw_transcripts (
    meeting_id  text        PRIMARY KEY REFERENCES meetings (id) ON DELETE CASCADE,
    format      text        NOT NULL,
    body        jsonb       NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);

-- The clean transcript: written by asr-postprocess, or imported as plain text.
CREATE TABLE transcripts (
    meeting_id  text        PRIMARY KEY REFERENCES meetings (id) ON DELETE CASCADE,
    text        text        NOT NULL,
    turns       jsonb       NOT NULL DEFAULT '[]'::jsonb,
    stats       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    source      text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE summaries (
    meeting_id   text        PRIMARY KEY REFERENCES meetings (id) ON DELETE CASCADE,
    summary      text        NOT NULL,
    content      jsonb       NOT NULL,
    engine       text        NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
