-- The contract numbers every topic now: RESPONSE_SPEED is 8 and AFTER_SALES_REPAIR 9. They
-- were 101 and 102 inside the service while the contract lacked them, and the primary topic
-- column held OTHER (7) for them.
UPDATE classifications SET topics = REPLACE(REPLACE(topics, '101', '8'), '102', '9');
UPDATE classifications SET topic = 8 WHERE topics = '8' OR topics LIKE '8,%';
UPDATE classifications SET topic = 9 WHERE topics = '9' OR topics LIKE '9,%';
UPDATE classification_history SET topic = 8 WHERE topic = 101;
UPDATE classification_history SET topic = 9 WHERE topic = 102;

-- A ticket-resolved survey's targeting by the ticket's kind and intake channel: JSON arrays
-- of the contract's numbers, empty for every kind / channel.
ALTER TABLE surveys ADD COLUMN ticket_kinds TEXT NOT NULL DEFAULT '[]';
ALTER TABLE surveys ADD COLUMN ticket_channels TEXT NOT NULL DEFAULT '[]';

-- Each customer's preferred language as the customers service last reported it
-- (CustomerCreated / CustomerUpdated), to invite them in it; scrubbed on CustomerErased.
CREATE TABLE customer_locales (
    customer TEXT PRIMARY KEY,
    locale TEXT NOT NULL,
    update_time BIGINT NOT NULL
);
