-- Ad click ids: the click id an event came with (gclid, fbclid, ...), as
-- the collector reads it from context.campaign, else from the page URL's
-- query (pipeline.ClickIDOf). The browser tracker t.js keeps the landing
-- page's click id for the whole session, so every event of a paid visit
-- carries it: package channel classifies later pages of the visit by it,
-- and the click ids of converting visitors can be exported for offline
-- conversion uploads (Google Ads, Meta CAPI). Documented in sql/README.md,
-- "Table events".
--
-- Rows written before this migration read as '' in both columns.

-- +goose Up
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS click_id_type LowCardinality(String)
        COMMENT 'the ad click id parameter: gclid, gbraid, wbraid, dclid, msclkid, yclid, fbclid, ttclid, li_fat_id, twclid, sccid, epik or rdt_cid; empty when none' AFTER utm_campaign,
    ADD COLUMN IF NOT EXISTS click_id String
        COMMENT 'the value of the click id parameter, as the ad network sent it' AFTER click_id_type;

-- +goose Down
ALTER TABLE events
    DROP COLUMN IF EXISTS click_id,
    DROP COLUMN IF EXISTS click_id_type;
