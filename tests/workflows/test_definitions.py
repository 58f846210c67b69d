"""A broken definition fails when its class is created (at import, i.e. at
start-up), or, for the rules the contract cannot know (roles), in the system
check and on look-up; never at its first run."""

import gc
from datetime import timedelta

import pytest
from django.core import checks

from erp.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from workflows import registry
from workflows.contract import (
    AutoStep,
    HumanStep,
    InvalidDefinitionError,
    InvalidInputError,
    NotAllowedError,
    NotWaitingError,
    RunFinishedError,
    RunNotFoundError,
    SignalStepError,
    UnknownDefinitionError,
    WaitStep,
    WorkflowDefinition,
)


def step(state, ctx):
    return {}


def human(name, **extra):
    return HumanStep(name, prompt="?", input_schema={"type": "object"}, roles=("manager",), **extra)


def define(steps, start="a", **attributes):
    """Create a definition class named ``broken`` with ``steps``."""
    return type(
        "Broken",
        (WorkflowDefinition,),
        {"name": "broken", "version": 1, "start": start, "steps": tuple(steps), **attributes},
    )


@pytest.mark.parametrize(
    ("steps", "start", "attributes", "message"),
    [
        ([AutoStep("a", step)], "nope", {}, "start 'nope' names no step"),
        ([AutoStep("a", step, next="b")], "a", {}, "step 'a': next 'b' names no step"),
        (
            [human("a", deadline=timedelta(hours=1), on_deadline="gone")],
            "a",
            {},
            "step 'a': on_deadline 'gone' names no step",
        ),
        (
            [WaitStep("a", signal="s", deadline=timedelta(hours=1), on_deadline="gone")],
            "a",
            {},
            "step 'a': on_deadline 'gone' names no step",
        ),
        (
            [AutoStep("a", step, next="a"), AutoStep("a", step)],
            "a",
            {},
            "step name 'a' is used more than once",
        ),
        (
            [AutoStep("a", step), AutoStep("orphan", step)],
            "a",
            {},
            "steps not reachable from start 'a': 'orphan'",
        ),
        (
            [
                AutoStep("a", step, next=lambda s: "b", branches=("b",)),
                AutoStep("b", step),
                AutoStep("c", step),
            ],
            "a",
            {},
            "steps not reachable from start 'a': 'c'",
        ),
        ([AutoStep("a", step, next=lambda s: "b", branches=("x",))], "a", {}, "branch 'x' names no step"),
        ([AutoStep("a", lambda state: {})], "a", {}, "step 'a': run must be a function taking (state, ctx)"),
        ([AutoStep("a", step, next=lambda: "a")], "a", {}, "a callable next must take one argument"),
        (
            [HumanStep("a", prompt="?", input_schema={"type": "objekt"}, roles=("manager",))],
            "a",
            {},
            "step 'a': input_schema is not a valid JSON Schema",
        ),
        (
            [WaitStep("a", signal="s", schema={"required": "x"})],
            "a",
            {},
            "step 'a': schema is not a valid JSON Schema",
        ),
        (
            [AutoStep("a", step)],
            "a",
            {"input_schema": {"type": 3}},
            "input_schema is not a valid JSON Schema",
        ),
        ([WaitStep("a", signal="")], "a", {}, "step 'a': signal must be a non-empty name"),
        (
            [HumanStep("a", prompt="?", input_schema={}, roles="manager")],
            "a",
            {},
            "roles must be a non-empty tuple",
        ),
        ([human("a", on_deadline="a")], "a", {}, "on_deadline is set but deadline is not"),
    ],
)
def test_a_broken_definition_fails_at_class_creation_and_is_not_registered(steps, start, attributes, message):
    with pytest.raises(InvalidDefinitionError) as raised:
        define(steps, start=start, **attributes)
    assert message in str(raised.value)
    assert "workflow 'broken' v1" in str(raised.value)
    del raised
    gc.collect()
    with pytest.raises(UnknownDefinitionError):
        registry.get("broken")


def test_every_problem_is_named_at_once():
    with pytest.raises(InvalidDefinitionError) as raised:
        define([AutoStep("a", step, next="x"), AutoStep("a", lambda s: {})], start="z")
    message = str(raised.value)
    assert "start 'z'" in message and "next 'x'" in message and "more than once" in message


def test_a_branch_without_declared_branches_may_reach_any_step():
    class Open(WorkflowDefinition):
        name = "test_open_branch"
        start = "a"
        steps = (AutoStep("a", step, next=lambda s: s.get("to")), AutoStep("b", step), AutoStep("c", step))

    assert registry.get("test_open_branch") is Open


def test_an_abstract_base_is_neither_checked_nor_registered():
    class Base(WorkflowDefinition):
        description = "shared by several definitions"

    class Concrete(Base):
        name = "test_concrete"
        start = "a"
        steps = (AutoStep("a", step),)

    assert registry.get("test_concrete") is Concrete
    assert Base not in registry.all_definitions()


@pytest.fixture
def unknown_role_definition():
    """A definition that passes the contract's checks but names a role the
    project does not have; dropped again after the test."""

    def create():
        type(
            "UnknownRole",
            (WorkflowDefinition,),
            {
                "name": "test_unknown_role",
                "start": "a",
                "steps": (HumanStep("a", prompt="?", input_schema={}, roles=("manager", "approver")),),
            },
        )

    create()
    yield "test_unknown_role"
    gc.collect()
    assert "test_unknown_role" not in [d.name for d in registry.all_definitions()]


def test_a_human_step_role_the_project_lacks_fails_the_system_check_and_the_lookup(unknown_role_definition):
    errors = checks.run_checks(tags=["workflows"])
    assert [e.id for e in errors] == ["workflows.E001"]
    assert "step 'a': unknown roles 'approver'" in errors[0].msg
    with pytest.raises(InvalidDefinitionError, match="unknown roles 'approver'"):
        registry.get(unknown_role_definition)


def test_the_shipped_definitions_pass_the_system_check():
    assert checks.run_checks(tags=["workflows"]) == []


def test_two_classes_claiming_one_name_and_version_fail_the_check():
    def create():
        for _ in range(2):
            type(
                "Twin",
                (WorkflowDefinition,),
                {"name": "test_twin", "start": "a", "steps": (AutoStep("a", step),)},
            )

    create()
    try:
        errors = checks.run_checks(tags=["workflows"])
        assert len(errors) == 1 and "two definitions claim workflow 'test_twin' v1" in errors[0].msg
    finally:
        gc.collect()
    assert checks.run_checks(tags=["workflows"]) == []


@pytest.mark.parametrize(
    ("error", "base", "code"),
    [
        (UnknownDefinitionError("x"), InvalidError, "unknown_definition"),
        (InvalidInputError("x"), InvalidError, "invalid_input"),
        (RunNotFoundError(), NotFoundError, "run_not_found"),
        (NotWaitingError(), ConflictError, "run_not_waiting"),
        (SignalStepError(), NotWaitingError, "signal_step"),
        (RunFinishedError(), ConflictError, "run_finished"),
        (NotAllowedError(), ForbiddenError, "step_not_allowed"),
    ],
)
def test_errors_derive_from_the_kernel_bases_with_stable_codes(error, base, code):
    assert isinstance(error, base)
    assert error.code == code


def test_an_unknown_definition_names_the_definition_field():
    error = UnknownDefinitionError("no such workflow")
    assert [(e.field, e.code) for e in error.errors] == [("definition", "unknown_definition")]
