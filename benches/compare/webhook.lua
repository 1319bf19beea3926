-- wrk script for benches/compare/run.sh: POSTs one signed Greenhouse webhook body to
-- /webhooks/greenhouse, each request with its own Greenhouse-Event-ID.
--
-- Greenhouse's signature covers the body only, so the signature computed once by run.sh is
-- valid for every request; the event id is a header, and a fresh one per request makes every
-- webhook a new event for the engine (its dedupe path is not what is measured here).
--
-- Environment: COMPARE_BODY_FILE (the body), COMPARE_SIGNATURE ("sha256 <hex>"),
-- COMPARE_RUN_ID (keeps ids of separate runs apart in one engine store).

local threads_started = 0

function setup(thread)
    threads_started = threads_started + 1
    thread:set("thread_number", threads_started)
end

function init(args)
    local file = assert(io.open(os.getenv("COMPARE_BODY_FILE"), "rb"))
    body = file:read("*a")
    file:close()
    signature = os.getenv("COMPARE_SIGNATURE")
    run_id = os.getenv("COMPARE_RUN_ID")
    sent = 0
end

function request()
    sent = sent + 1
    local headers = {
        ["Content-Type"] = "application/json",
        ["Signature"] = signature,
        ["Greenhouse-Event-ID"] = string.format("%s-%d-%d", run_id, thread_number, sent),
    }
    return wrk.format("POST", "/webhooks/greenhouse", headers, body)
end
