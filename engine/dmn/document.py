"""A deployed DMN file: its decisions compiled once, evaluated with required decisions first."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.dmn.feel_errors import collecting
from engine.dmn.feel_eval import Env, UnknownNameError
from engine.dmn.feel_limits import FeelLimitError, evaluation_budget
from engine.dmn.feel_types import UnsupportedValueError
from engine.dmn.results import DecisionEvaluationError, DecisionResult, MatchedRule
from engine.dmn.services import ServiceModel, run_service, service_function
from engine.dmn.typeref import Converter, TypeMismatchError
from engine.errors import NotFoundError

Runner = Callable[[Env], tuple[Any, list[MatchedRule]]]


@dataclass
class Decision:
    """One decision of the file, with what a caller needs to run it and store its result.

    ``variable_name`` is the name the result is known by (the decision's variable); for a
    decision table, ``output_names`` are its output columns: with one column the result is
    that column's value, with several it is a dict by these names.
    """

    id: str
    name: str
    variable_name: str
    kind: str  # "decision table" | "literal expression"
    hit_policy: str | None
    aggregation: str | None
    output_names: list[str]
    required_decisions: list[str] = field(default_factory=list)
    required_inputs: list[str] = field(default_factory=list)
    run: Runner | None = field(default=None, repr=False)
    evaluation_order: list[Decision] = field(default_factory=list, repr=False)
    unavailable: str | None = None  # why it cannot be evaluated (deployed with its file)
    problem: str | None = None  # its own part of that: not about the decisions it requires
    reads: list[str] = field(default_factory=list)  # variable paths its table inputs read

    @property
    def is_multi_hit(self) -> bool:
        return self.hit_policy in ("COLLECT", "RULE ORDER", "OUTPUT ORDER") and not self.aggregation


class DmnDocument:
    """The decisions of one DMN file, ready to evaluate."""

    def __init__(
        self,
        filename: str,
        namespace: str,
        decisions: dict[str, Decision],
        functions: dict[str, Any],
        input_converters: dict[str, Converter | None],
    ) -> None:
        self.filename = filename
        self.namespace = namespace
        self.decisions = decisions
        self._functions = functions
        self._inputs = input_converters
        self.input_names: dict[str, str] = {}  # input data id → name
        self.services: dict[str, ServiceModel] = {}
        self.model_namespace = ""  # the model's namespace, by which others import it
        self.has_unavailable = False  # a decision of the file cannot be evaluated
        self.names: list[str] = []  # what its elements are known by, for an importer
        self.item_types: dict[str, str] = {}
        self.item_specs: dict[str, Any] = {}
        self.imports: dict[str, DmnDocument] = {}  # the models it imports, by import name
        self._by_name: dict[str, list[Decision]] = {}
        for decision in decisions.values():
            self._by_name.setdefault(decision.name, []).append(decision)

    @property
    def exported(self) -> dict[str, Any]:
        """Its business knowledge models and decision services (and imports), by name."""
        return self._functions

    def find(self, decision_ref: str) -> Decision:
        """The decision with this id, or else with this name if only one has it."""
        decision = self.decisions.get(decision_ref)
        if decision is not None:
            return decision
        named = self._by_name.get(decision_ref, [])
        if len(named) == 1:
            return named[0]
        known = ", ".join(sorted(self.decisions))
        why = "several decisions have that name" if named else f"the decisions are: {known}"
        raise NotFoundError(f"{self.filename}: no decision '{decision_ref}' ({why})",
                            {"file": self.filename, "decision": decision_ref})

    def add_services(self, services: list[ServiceModel]) -> None:
        """Make the decision services invocable by name, and callable from FEEL."""
        for service in services:
            self.services[service.name] = service
            self._functions[service.name] = service_function(self, service)

    def evaluate_service(self, name: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Run a decision service: its output decisions' values by name."""
        service = self.services.get(name)
        if service is None:
            raise NotFoundError(f"{self.filename}: no decision service '{name}'",
                                {"file": self.filename, "decision_service": name})
        return run_service(self, service, variables)

    def evaluate(self, decision_id: str, variables: Mapping[str, Any],
                 given: frozenset[str] | set[str] = frozenset()) -> DecisionResult:
        """Evaluate a decision and those it requires, with ``variables`` as the input data.

        Numbers in the result are ``Decimal``. A table with one output column gives that
        column's value; with several, a dict by output name. UNIQUE, ANY, PRIORITY and FIRST
        give one such value (None when no rule matches and there is no default output);
        RULE ORDER, OUTPUT ORDER and COLLECT give a list; COLLECT with an aggregation gives the
        aggregate. A literal-expression decision gives its value.
        """
        decision = self.find(decision_id)
        if self.has_unavailable:
            self._refuse_unavailable(decision, given)
        env: Env = dict(self._functions)
        env.update(variables)
        with evaluation_budget(), collecting() as errors:
            self._prepare_inputs(env, decision)
            if self.imports:
                self._imported_decisions(env, decision, variables)
            for required in decision.evaluation_order:
                if required.variable_name not in given:  # a decision service's input
                    env[required.variable_name] = self._run(required, env)[0]
            outputs, matched = self._run(decision, env)
        return DecisionResult(outputs, matched, list(errors))

    @staticmethod
    def _refuse_unavailable(decision: Decision, given: frozenset[str] | set[str]) -> None:
        """Refuse before evaluating anything a decision that cannot be evaluated, saying why.

        A required decision whose value is given (a decision service's input decision) does
        not need to be evaluable.
        """
        reason = decision.problem
        if reason is None:
            blocked = next((r for r in decision.evaluation_order
                            if r.problem is not None and r.variable_name not in given), None)
            if blocked is not None:
                reason = (f"it requires decision '{blocked.name}', which is unavailable: "
                          f"{blocked.problem}")
        if reason is not None:
            raise DecisionEvaluationError(f"decision '{decision.name}' cannot be evaluated: "
                                          f"{reason}", decision.id)

    def _imported_decisions(self, env: Env, decision: Decision,
                            variables: Mapping[str, Any]) -> None:
        """Evaluate the imported decisions the decision needs, each in its model.

        The imported model's input data are read from the variable named after the import
        (``{"myimport": {"Person name": …}}``), as DMN names them ``myimport.Person name``.
        """
        contexts: dict[str, tuple[dict[str, Any], Mapping[str, Any]]] = {}
        for name, doc in self.imports.items():
            given = variables.get(name)
            given = given if isinstance(given, Mapping) else {}
            context = {**given, **self._functions.get(name, {})}
            env[name] = context
            contexts[doc.model_namespace] = (context, given)
        for d in [*decision.evaluation_order, decision]:
            for ref in d.required_decisions:
                namespace, _, ref_id = ref.rpartition("#")
                if namespace not in contexts:
                    continue
                context, given = contexts[namespace]
                doc = self.imports[next(n for n, i in self.imports.items()
                                        if i.model_namespace == namespace)]
                imported = doc.decisions[ref_id]
                context[imported.variable_name] = doc.evaluate(ref_id, given).outputs

    def _prepare_inputs(self, env: Env, decision: Decision) -> None:
        for name, convert in self._inputs.items():
            if name not in env:
                env[name] = None  # declared input data that was not passed: FEEL null
            elif convert is not None:
                try:
                    env[name] = convert(env[name])
                except FeelLimitError as exc:
                    raise DecisionEvaluationError(
                        f"decision '{decision.name}': input data '{name}': {exc}", decision.id
                    ) from exc
                except TypeMismatchError as exc:
                    raise DecisionEvaluationError(
                        f"decision '{decision.name}': input data '{name}' {exc}",
                        decision.id,
                    ) from exc

    def _run(self, decision: Decision, env: Env) -> tuple[Any, list[MatchedRule]]:
        assert decision.run is not None
        try:
            return decision.run(env)
        except UnknownNameError as exc:
            passed = sorted(k for k in env if isinstance(k, str) and k != "?"
                            and k not in self._functions)
            shown = ", ".join(passed[:12]) + (" ..." if len(passed) > 12 else "")
            raise DecisionEvaluationError(
                f"decision '{decision.name}' uses '{exc.name}', which is not a variable passed "
                f"in (passed: {shown or 'none'}) nor a decision or input of the file; pass it "
                "in the variables, as None if it has no value (if you meant the text, write "
                f'"{exc.name}" in double quotes)',

                decision.id,
            ) from exc
        except (UnsupportedValueError, FeelLimitError) as exc:
            raise DecisionEvaluationError(
                f"decision '{decision.name}': {exc}", decision.id
            ) from exc
        except RecursionError as exc:
            raise DecisionEvaluationError(
                f"decision '{decision.name}': the business knowledge models call each other "
                "without end", decision.id
            ) from exc
