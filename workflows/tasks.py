from celery import shared_task

from workflows import services


@shared_task(name="workflows.advance_run")
def advance_run(thread_id: str) -> str:
    """Advance a run through its automatic steps (idempotent: a redelivery finds
    the run already past the step, or locked until the first attempt commits)."""
    return services.advance(thread_id)


@shared_task(name="workflows.tick")
def tick() -> dict[str, int]:
    """Beat: apply passed deadlines of human steps; resume runs whose step task was lost."""
    return {"deadlines": services.apply_deadlines(), "resumed": services.resume_stalled()}
