-- Identities a customer adds to their own record are claims until staff verify them: a
-- claim never resolves a contact, and several customers may claim one address while at most
-- one customer holds it as a real identity.
ALTER TABLE identities ADD COLUMN claimed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE identities DROP CONSTRAINT identities_channel_provider_handle_key;
-- A real (not claimed) identity belongs to at most one customer across the platform.
CREATE UNIQUE INDEX identities_key ON identities (channel, provider, handle) WHERE claimed = 0;
-- A customer claims an address once.
CREATE UNIQUE INDEX identities_claim ON identities (customer_id, channel, provider, handle)
    WHERE claimed = 1;
