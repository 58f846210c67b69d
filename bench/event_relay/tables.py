"""The benchmark's tables (plain SQL, no Django import: the parent process drops
them at the end without setting Django up)."""

# One row per effect. created_at is the database's clock at the INSERT
# (clock_timestamp(), not now(): now() is the start of the transaction).
# Same host, so it is comparable with the publisher's time.time().
EVENT_EFFECTS = "bench_event_effects"  # relay: one row per delivered Tick
TASK_EFFECTS = "bench_task_effects"  # baseline: one row per bench.insert_row task
MARKERS = "bench_markers"  # baseline: the end-of-run marker after N bench.noop tasks
CREATED_DEFAULT = "extract(epoch from clock_timestamp())"

TABLES_SQL = (
    f"""CREATE TABLE IF NOT EXISTS {EVENT_EFFECTS} (
        event_id uuid PRIMARY KEY,
        published_at double precision NOT NULL,
        created_at double precision NOT NULL DEFAULT {CREATED_DEFAULT})""",
    f"""CREATE TABLE IF NOT EXISTS {TASK_EFFECTS} (
        id bigserial PRIMARY KEY,
        published_at double precision NOT NULL,
        created_at double precision NOT NULL DEFAULT {CREATED_DEFAULT})""",
    f"""CREATE TABLE IF NOT EXISTS {MARKERS} (
        run_id text PRIMARY KEY,
        created_at double precision NOT NULL DEFAULT {CREATED_DEFAULT})""",
)
BENCH_TABLES = (EVENT_EFFECTS, TASK_EFFECTS, MARKERS)
# The relay's own tables, emptied between runs with the benchmark's.
RELAY_TABLES = ("erp_outboxevent", "erp_delivery", "erp_inboxrecord")
