"""Compile a read DMN model: every cell parsed once into closures, every problem collected."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.dmn.boxed import compile_boxed
from engine.dmn.boxed_model import BoxedFunction
from engine.dmn.document import Decision, DmnDocument, Runner
from engine.dmn.feel_errors import report
from engine.dmn.feel_eval import Const, Env, Evaluator
from engine.dmn.feel_lexer import FeelSyntaxError, declared_names
from engine.dmn.feel_parser import parse_expression, parse_unary_tests
from engine.dmn.feel_types import FeelFunction
from engine.dmn.feel_unary import NOT_CONST, TestCompiler
from engine.dmn.model import DefinitionsModel, LiteralModel, Logic, TableModel, Text
from engine.dmn.results import MatchedRule
from engine.dmn.tables import CompiledInput, CompiledRule, CompiledTable
from engine.dmn.typeref import TypeMismatchError, coercion, converter, result_check
from engine.errors import Problem


class Builder:
    def __init__(self, filename: str, model: DefinitionsModel,
                 imports: Mapping[str, DmnDocument]) -> None:
        self.filename = filename
        self.model = model
        self.problems: list[Problem] = []
        self.imported = self.resolve_imports(imports)
        self.names = declared_names(
            exported_names(model)
            + [name for name, doc in self.imported.items() for name in [name, *doc.names]]
        )
        self.functions: dict[str, Any] = {
            name: dict(doc.exported) for name, doc in self.imported.items()}

    def resolve_imports(self, imports: Mapping[str, DmnDocument]) -> dict[str, DmnDocument]:
        """The imported documents by import name; their item definitions, prefixed."""
        found: dict[str, DmnDocument] = {}
        for imp in self.model.imports:
            doc = imports.get(imp.namespace)
            if doc is None:
                self.problems.append(Problem(self.filename, (
                    f"the file imports namespace '{imp.namespace}' as '{imp.name}', but no "
                    "DMN file with that namespace is deployed: deploy the file that defines it "
                    "with this one (or before it)"), imp.line))
                continue
            found[imp.name] = doc
            for key, base in doc.item_types.items():
                self.model.item_types.setdefault(f"{imp.name}.{key}", base)
            for key, spec in doc.item_specs.items():
                self.model.item_specs.setdefault(f"{imp.name}.{key}", spec)
        return found

    # -- compiling FEEL text ----------------------------------------------------------------
    def problem(self, owner_id: str, where: str, text: Text, exc: FeelSyntaxError) -> None:
        shown = text.text.strip()
        self.problems.append(Problem(
            self.filename, f"{where}: cannot read {shown!r} {exc.describe()}", text.line, owner_id
        ))  # fmt: skip

    def expression(self, text: Text, compiler: TestCompiler, owner_id: str,
                   where: str, empty: Any = None) -> Evaluator:
        if not text.text.strip():
            return Const(empty)
        try:
            return compiler.compile(parse_expression(text.text, compiler.names))
        except FeelSyntaxError as exc:
            self.problem(owner_id, where, text, exc)
            return Const(None)

    def constants(self, text: Text | None, compiler: TestCompiler, owner_id: str,
                  where: str) -> list[Any] | None:
        """The values of an inputValues/outputValues list such as ``"High", "Low"``."""
        if text is None or not text.text.strip():
            return None
        try:
            node = parse_unary_tests(text.text, compiler.names)
        except FeelSyntaxError as exc:
            self.problem(owner_id, where, text, exc)
            return None
        tests = getattr(node, "tests", (node,))
        values = [compiler.constant_equality(t) for t in tests]
        if any(v is NOT_CONST for v in values):
            self.problems.append(Problem(self.filename, f"{where}: the output values must be "
                                         "plain values such as \"High\", \"Low\"", text.line,
                                         owner_id))
            return None
        return values

    # -- logic ------------------------------------------------------------------------------
    def logic(self, logic: Logic, owner: str, owner_id: str,
              extra_names: frozenset[str] = frozenset()) -> tuple[Runner, list[str]] | None:
        compiler = TestCompiler(self.names | extra_names, self.model.item_specs)
        if isinstance(logic, TableModel):
            table = self.table(logic, owner, owner_id, compiler)
            return table.evaluate, list(table.output_names)
        fn = self.part(logic, owner, owner_id, self.names | extra_names)
        return (lambda env: (fn(env), [])), []

    def part(self, logic: Logic, owner: str, owner_id: str, names: frozenset[str]) -> Evaluator:
        """Compile an expression of any kind, nested in a boxed expression or not."""
        compiler = TestCompiler(names, self.model.item_specs)
        if isinstance(logic, LiteralModel):
            return self.expression(logic.text, compiler, owner_id,
                                   f"decision '{owner}', literal expression")
        if isinstance(logic, TableModel):
            table = self.table(logic, owner, owner_id, compiler)
            return lambda env: table.evaluate(env)[0]
        if isinstance(logic, BoxedFunction) and logic.kind.upper() != "FEEL":
            self.problems.append(Problem(
                self.filename, f"'{owner}' defines a {logic.kind} function; Bridgeflow "
                "evaluates FEEL functions only", None, owner_id))  # fmt: skip
            return Const(None)
        return compile_boxed(logic, lambda inner, scope: self.part(inner, owner, owner_id,
                                                                   scope), names)

    def table(self, table: TableModel, owner: str, owner_id: str,
              compiler: TestCompiler) -> CompiledTable:
        where = f"decision '{owner}'"
        inputs = [
            CompiledInput(
                clause.label,
                self.expression(clause.expression, compiler, owner_id,
                                f"{where}, input '{clause.label}' expression"),
                converter(clause.type_ref, self.model.item_types),
            )
            for clause in table.inputs
        ]
        output_names = [o.name or o.label for o in table.outputs]
        if len(table.outputs) == 1:
            output_names = [table.outputs[0].name or owner]
        priorities = [
            self.constants(o.output_values, compiler, owner_id,
                           f"{where}, output '{o.label}' values")
            for o in table.outputs
        ]
        defaults = None
        if any(o.default is not None for o in table.outputs):
            defaults = [
                self.expression(o.default or Text("", None), compiler, owner_id,
                                f"{where}, output '{o.label}' default")
                for o in table.outputs
            ]
        rules = [self.rule(table, rule_index, compiler, owner, owner_id)
                 for rule_index in range(len(table.rules))]
        return CompiledTable(owner, owner_id, table.hit_policy, table.aggregation, inputs,
                             output_names, priorities, defaults, rules)

    def rule(self, table: TableModel, index: int, compiler: TestCompiler, owner: str,
             owner_id: str) -> CompiledRule:
        row = table.rules[index]
        tests = []
        for column, (clause, cell) in enumerate(zip(table.inputs, row.inputs, strict=True)):
            where = (f"decision '{owner}' rule {row.number}, input '{clause.label}' "
                     f"(column {column + 1})")
            try:
                test = compiler.compile_cell(parse_unary_tests(cell.text, compiler.names))
            except FeelSyntaxError as exc:
                self.problem(owner_id, where, cell, exc)
                continue
            if test is not None:
                tests.append((column, test))
        outputs = tuple(
            self.expression(cell, compiler, owner_id,
                            f"decision '{owner}' rule {row.number}, output '{clause.label}'")
            for clause, cell in zip(table.outputs, row.outputs, strict=True)
        )
        return CompiledRule(MatchedRule(row.id, row.number), tuple(tests), outputs)

    # -- business knowledge models ----------------------------------------------------------
    def bkms(self) -> None:
        for bkm in self.model.bkms:
            if bkm.logic is None:
                continue
            params = [name for name, _ in bkm.params]
            compiled = self.logic(bkm.logic, bkm.name, bkm.id, declared_names(params))
            if compiled is None:
                continue
            self.functions[bkm.name] = FeelFunction(
                bkm.name, params, self.bkm_body(compiled[0], bkm.name, bkm.params, bkm.type_ref)
            )

    def bkm_body(self, run: Runner, name: str, params: list[tuple[str, str | None]],
                 type_ref: str | None) -> Callable[[list[Any]], Any]:
        functions = self.functions
        types, specs = self.model.item_types, self.model.item_specs
        checks = [(p, coercion(t, types, specs, f"business knowledge model '{name}': "
                                                f"parameter '{p}'")) for p, t in params]
        result = coercion(type_ref, types, specs, f"business knowledge model '{name}': result")

        def body(args: list[Any]) -> Any:
            env: Env = dict(functions)
            for (param, check), value in zip(checks, args, strict=True):
                if check is not None and value is not None:
                    value = check(value)
                    if value is None:
                        return None  # DMN: an argument of the wrong type gives null
                env[param] = value
            out = run(env)[0]
            return result(out) if result is not None and out is not None else out

        return body

    # -- decisions --------------------------------------------------------------------------
    def decisions(self) -> dict[str, Decision]:
        decisions: dict[str, Decision] = {}
        for d in self.model.decisions:
            if d.id in decisions:
                self.problems.append(Problem(self.filename, f"two decisions have id '{d.id}'",
                                             d.line, d.id))
                continue
            compiled = self.logic(d.logic, d.name, d.id) if d.logic is not None else None
            check = result_check(d.type_ref, self.model.item_types, self.model.item_specs)
            if compiled is not None and check is not None:
                compiled = (checked_result(compiled[0], check, d.name), compiled[1])
            table = d.logic if isinstance(d.logic, TableModel) else None
            decisions[d.id] = Decision(
                d.id, d.name, d.variable_name,
                "decision table" if table else "literal expression",
                table.hit_policy if table else None, table.aggregation if table else None,
                compiled[1] if compiled else [], list(d.required_decisions),
                [i.name for i in self.model.inputs if i.id in d.required_inputs],
                compiled[0] if compiled else None,
                reads=[c.expression.text.strip() for c in table.inputs] if table else [],
            )  # fmt: skip
        self.check_requirements(decisions)
        return decisions

    def check_requirements(self, decisions: dict[str, Decision]) -> None:
        input_ids = {i.id for i in self.model.inputs}
        bkm_ids = {b.id for b in self.model.bkms} | {s.id for s in self.model.services}
        by_namespace = {doc.model_namespace: doc for doc in self.imported.values()}
        for d in self.model.decisions:
            for ref in d.required_decisions:
                namespace, _, ref_id = ref.rpartition("#")
                doc = by_namespace.get(namespace)
                if namespace and doc is not None and ref_id not in doc.decisions:
                    self.problems.append(Problem(self.filename, (
                        f"decision '{d.name}' requires decision '{ref_id}' of the imported "
                        f"model '{namespace}', which does not define it"), d.line, d.id))
            for ref, known, kind in [(r, decisions, "decision") for r in d.required_decisions] + [
                (r, input_ids, "input data") for r in d.required_inputs
            ] + [(r, bkm_ids, "business knowledge model") for r in d.required_knowledge]:
                if ref not in known and "#" not in ref:  # namespace#id: checked above
                    self.problems.append(Problem(self.filename, f"decision '{d.name}' requires "
                                                 f"{kind} '{ref}', which the file does not "
                                                 "define", d.line, d.id))
        for decision in decisions.values():
            order: list[Decision] = []
            if self.visit(decision, decisions, order, []):
                decision.evaluation_order = order[:-1]

    def visit(self, decision: Decision, decisions: dict[str, Decision], order: list[Decision],
              path: list[str]) -> bool:
        if decision.id in path:
            cycle = " → ".join(path[path.index(decision.id):] + [decision.id])
            self.problems.append(Problem(self.filename, f"decisions require each other in a "
                                         f"cycle: {cycle}", None, decision.id))
            return False
        if decision in order:
            return True
        for ref in decision.required_decisions:
            required = decisions.get(ref)
            if required is not None and not self.visit(required, decisions, order,
                                                       path + [decision.id]):
                return False
        order.append(decision)
        return True


def checked_result(run: Runner, check: Callable[[Any], Any], name: str) -> Runner:
    """``run``, its result coerced to the decision's type: null (reported) if it is not."""

    def checked(env: Env) -> tuple[Any, list[MatchedRule]]:
        value, matched = run(env)
        try:
            return check(value), matched
        except TypeMismatchError as exc:
            report(f"decision '{name}': the result {exc}")
            return None, matched

    return checked


def exported_names(model: DefinitionsModel) -> list[str]:
    """The names a model's elements are known by (an importer prefixes them)."""
    return ([i.name for i in model.inputs] + [d.variable_name for d in model.decisions]
            + [b.name for b in model.bkms] + [s.name for s in model.services])


def build_document(filename: str, model: DefinitionsModel,
                   imports: Mapping[str, DmnDocument] | None = None,
                   ) -> tuple[DmnDocument, list[Problem]]:
    """Compile the model; ``imports`` are the documents it may import, by namespace."""
    builder = Builder(filename, model, imports or {})
    builder.bkms()
    decisions = builder.decisions()
    inputs = {i.name: converter(i.type_ref, model.item_types) for i in model.inputs}
    document = DmnDocument(filename, model.namespace, decisions, builder.functions, inputs)
    document.input_names = {i.id: i.name for i in model.inputs}
    document.names = exported_names(model)
    document.model_namespace = model.model_namespace
    document.item_types, document.item_specs = model.item_types, model.item_specs
    document.imports = builder.imported
    _service_checks(model)
    document.add_services(model.services)
    return document, builder.problems


def _service_checks(model: DefinitionsModel) -> None:
    """Each decision service's coercions: its parameters' (the input data's and input
    decisions' typeRefs) and its single output's (its function type's outputTypeRef)."""
    types, specs = model.item_types, model.item_specs
    inputs = {i.id: i for i in model.inputs}
    decisions = {d.id: d for d in model.decisions}
    for service in model.services:
        params = ([(inputs[i].name, inputs[i].type_ref) if i in inputs else (i, None)
                   for i in service.input_data]
                  + [(decisions[d].variable_name, decisions[d].type_ref)
                     for d in service.input_decisions if d in decisions])
        where = f"decision service '{service.name}':"
        service.param_checks = [coercion(t, types, specs, f"{where} parameter '{p}'")
                                for p, t in params]
        service.output_check = coercion(service.output_type, types, specs, f"{where} result")
