-- The application-stage row (one stay of the application in a stage) a request was opened
-- for; NULL for links written before the engine recorded stays.
ALTER TABLE request_links ADD COLUMN stay_id INTEGER;
