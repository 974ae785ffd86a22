"""Read a DMN file (1.1 to 1.5) into plain dataclasses, collecting every structural problem."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from engine.dmn.boxed_model import BOXED_TAGS, Boxed, local_name, read_boxed
from engine.dmn.feel_typespec import TypeSpec
from engine.dmn.item_definitions import read_item_definitions
from engine.dmn.services import ServiceModel, read_service
from engine.errors import Problem

DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}
HIT_POLICIES = frozenset(
    {"UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"}
)
AGGREGATIONS = frozenset({"SUM", "MIN", "MAX", "COUNT"})


_EXPRESSION_TAGS = frozenset({"decisionTable", "literalExpression", *BOXED_TAGS})


@dataclass
class Text:
    """A piece of FEEL text with where it came from."""

    text: str
    line: int | None


@dataclass
class InputClause:
    id: str | None
    label: str
    expression: Text
    type_ref: str | None
    input_values: Text | None


@dataclass
class OutputClause:
    id: str | None
    name: str | None
    label: str
    type_ref: str | None
    output_values: Text | None
    default: Text | None


@dataclass
class RuleRow:
    id: str | None
    number: int
    inputs: list[Text]
    outputs: list[Text]


@dataclass
class TableModel:
    id: str | None
    line: int | None
    hit_policy: str
    aggregation: str | None
    inputs: list[InputClause] = field(default_factory=list)
    outputs: list[OutputClause] = field(default_factory=list)
    rules: list[RuleRow] = field(default_factory=list)


@dataclass
class LiteralModel:
    text: Text


Logic = TableModel | LiteralModel | Boxed


@dataclass
class DecisionModel:
    id: str
    name: str
    variable_name: str
    type_ref: str | None
    line: int | None
    logic: Logic | None
    required_decisions: list[str] = field(default_factory=list)
    required_inputs: list[str] = field(default_factory=list)
    required_knowledge: list[str] = field(default_factory=list)


@dataclass
class InputDataModel:
    id: str
    name: str
    type_ref: str | None


@dataclass
class BkmModel:
    id: str
    name: str
    line: int | None
    params: list[tuple[str, str | None]]
    logic: Logic | None
    type_ref: str | None = None  # its expression's typeRef: what its result is coerced to


@dataclass
class ImportModel:
    """A DMN ``<import>`` of another model: its elements are known as ``name.element``."""

    namespace: str
    name: str
    line: int | None


@dataclass
class DefinitionsModel:
    namespace: str  # the DMN version's XML namespace
    model_namespace: str = ""  # the model's own, by which other files import it
    imports: list[ImportModel] = field(default_factory=list)
    decisions: list[DecisionModel] = field(default_factory=list)
    inputs: list[InputDataModel] = field(default_factory=list)
    bkms: list[BkmModel] = field(default_factory=list)
    item_types: dict[str, str] = field(default_factory=dict)  # simple item definition → base
    item_specs: dict[str, TypeSpec] = field(default_factory=dict)  # every one, as a FEEL type
    services: list[ServiceModel] = field(default_factory=list)


def line_of(element: etree._Element | None) -> int | None:
    line = element.sourceline if element is not None else None
    return line if isinstance(line, int) else None


class _Reader:
    def __init__(self, filename: str, namespace: str) -> None:
        self.filename = filename
        self.ns = namespace
        self.problems: list[Problem] = []
        self.imported: set[str] = set()  # the namespaces the file imports
        self.own_namespace = ""

    def tag(self, local: str) -> str:
        return f"{{{self.ns}}}{local}"

    def problem(self, message: str, element: etree._Element | None,
                element_id: str | None = None) -> None:
        line = line_of(element)
        self.problems.append(Problem(self.filename, message, line, element_id))

    def child(self, element: etree._Element, local: str) -> etree._Element | None:
        return element.find(self.tag(local))

    def text(self, element: etree._Element | None) -> Text | None:
        if element is None:
            return None
        self.check_language(element)
        node = self.child(element, "text")
        if node is None:
            return Text("", line_of(element))
        return Text(node.text or "", line_of(node))

    def check_language(self, element: etree._Element) -> None:
        """Refuse JUEL, JavaScript, Python cells: read as FEEL they would mean other things."""
        language = element.get("expressionLanguage")
        if language and "feel" not in language.lower():
            self.problem(f"expression language '{language}' is not supported; Bridgeflow "
                         "evaluates FEEL only (remove the attribute and write the cell in FEEL)",
                         element, element.get("id"))

    def href(self, element: etree._Element | None, owner: str) -> str | None:
        """``#id`` in this file gives ``id`` (so does ``namespace#id`` with the file's own
        namespace); ``namespace#id`` of an imported model as is."""
        ref = element.get("href", "") if element is not None else ""
        if ref.startswith("#"):
            return ref[1:]
        namespace, _, local = ref.rpartition("#")
        if namespace and namespace == self.own_namespace:
            return local
        if ref.rpartition("#")[0] in self.imported:
            return ref
        self.problem(f"'{owner}' requires '{ref}', which is neither in this file nor in a "
                     "model it imports (add an <import> of its namespace)", element, owner)
        return None

    def read(self, root: etree._Element) -> DefinitionsModel:
        model = DefinitionsModel(self.ns, root.get("namespace") or "")
        self.own_namespace = model.model_namespace
        self.check_language(root)
        for element in root.iterchildren(self.tag("import")):
            namespace, name = element.get("namespace"), element.get("name")
            if not namespace or name is None:
                self.problem("an <import> needs a namespace and a name", element)
                continue
            model.imports.append(ImportModel(namespace, name, line_of(element)))
            self.imported.add(namespace)
        for item in root.iterchildren(self.tag("itemDefinition")):
            base = item.findtext(self.tag("typeRef"))
            if base and item.get("isCollection") != "true" and item.get("name"):
                model.item_types[item.get("name", "")] = base.strip()
        model.item_specs = read_item_definitions(root)
        for element in root.iterchildren(self.tag("inputData")):
            variable = self.child(element, "variable")
            name = element.get("name") or (variable.get("name") if variable is not None else None)
            if not element.get("id") or not name:
                self.problem("inputData needs an id and a name", element, element.get("id"))
                continue
            type_ref = variable.get("typeRef") if variable is not None else None
            model.inputs.append(InputDataModel(element.get("id", ""), name, type_ref))
        for element in root.iterchildren(self.tag("businessKnowledgeModel")):
            bkm = self.bkm(element)
            if bkm is not None:
                model.bkms.append(bkm)
        for element in root.iterchildren(self.tag("decision")):
            decision = self.decision(element)
            if decision is not None:
                model.decisions.append(decision)
        for element in root.iterchildren(self.tag("decisionService")):
            service = read_service(element)
            if service is None:
                self.problem("decisionService needs a name", element, element.get("id"))
            else:
                model.services.append(service)
        if not (model.decisions or model.bkms or model.services or model.item_specs):
            self.problem("the file defines no decision, business knowledge model, decision "
                         "service or item definition: nothing to deploy", root)
        return model

    def decision(self, element: etree._Element) -> DecisionModel | None:
        # DMN 1.5 makes the id optional: a decision without one is known by its name
        decision_id = element.get("id") or element.get("name")
        name = element.get("name")
        if not decision_id:
            self.problem("a decision needs an id or a name", element)
            return None
        variable = self.child(element, "variable")
        var_name = (variable.get("name") if variable is not None else None) or name or decision_id
        decision = DecisionModel(
            decision_id, name or decision_id, var_name,
            variable.get("typeRef") if variable is not None else None,
            line_of(element), self.logic(element, decision_id),
        )  # fmt: skip
        for req in element.iterchildren(self.tag("informationRequirement")):
            for kind, target in (("requiredDecision", decision.required_decisions),
                                 ("requiredInput", decision.required_inputs)):
                ref = self.child(req, kind)
                if ref is not None:
                    href = self.href(ref, decision_id)
                    if href:
                        target.append(href)
        for req in element.iterchildren(self.tag("knowledgeRequirement")):
            href = self.href(self.child(req, "requiredKnowledge"), decision_id)
            if href:
                decision.required_knowledge.append(href)
        return decision

    def bkm(self, element: etree._Element) -> BkmModel | None:
        bkm_id, name = element.get("id"), element.get("name")
        logic = self.child(element, "encapsulatedLogic")
        if not bkm_id or not name:
            self.problem("businessKnowledgeModel needs an id and a name", element, bkm_id)
            return None
        if logic is None:
            self.problem(f"business knowledge model '{name}' has no encapsulatedLogic",
                         element, bkm_id)
            return None
        params = [(p.get("name", ""), p.get("typeRef"))
                  for p in logic.iterchildren(self.tag("formalParameter"))]
        body = next((c for c in logic if isinstance(c.tag, str)
                     and local_name(c) in _EXPRESSION_TAGS), None)
        return BkmModel(bkm_id, name, line_of(element), params, self.logic(logic, bkm_id),
                        body.get("typeRef") if body is not None else None)

    def logic(self, element: etree._Element, owner: str) -> Logic | None:
        """The one expression ``element`` holds (a decision, a context entry, a binding…)."""
        for child in element:
            if isinstance(child.tag, str) and local_name(child) in _EXPRESSION_TAGS:
                return self.expression(child, owner)
        self.problem(f"'{owner}' has no decision table or literal expression", element, owner)
        return None

    def expression(self, element: etree._Element, owner: str) -> Logic | None:
        kind = local_name(element)
        if kind == "decisionTable":
            return self.table(element, owner)
        if kind == "literalExpression":
            text = self.text(element)
            assert text is not None
            return LiteralModel(text)
        if kind in BOXED_TAGS:
            return read_boxed(element, lambda e: self.logic(e, owner),
                              lambda e: self.expression(e, owner))
        self.problem(f"'{owner}': <{kind}> is not an expression Bridgeflow evaluates",
                     element, owner)
        return None

    def table(self, element: etree._Element, owner: str) -> TableModel:
        policy = (element.get("hitPolicy") or "UNIQUE").strip().upper()
        aggregation = element.get("aggregation")
        if policy not in HIT_POLICIES:
            self.problem(f"'{owner}' has unknown hit policy '{policy}'; use one of "
                         f"{', '.join(sorted(HIT_POLICIES))}", element, owner)
            policy = "UNIQUE"
        if aggregation is not None:
            aggregation = aggregation.strip().upper()
            if policy != "COLLECT" or aggregation not in AGGREGATIONS:
                self.problem(f"'{owner}': aggregation '{aggregation}' needs hit policy COLLECT "
                             "and one of SUM, MIN, MAX, COUNT", element, owner)
                aggregation = None
        self.check_language(element)
        table = TableModel(element.get("id"), line_of(element), policy, aggregation)
        for n, clause in enumerate(element.iterchildren(self.tag("input")), start=1):
            expression = self.text(self.child(clause, "inputExpression"))
            if expression is None or not expression.text.strip():
                self.problem(f"'{owner}': input column {n} has no input expression", clause, owner)
                expression = Text("null", line_of(clause))
            type_ref = self.child(clause, "inputExpression")
            table.inputs.append(InputClause(
                clause.get("id"), clause.get("label") or expression.text.strip() or f"input {n}",
                expression, type_ref.get("typeRef") if type_ref is not None else None,
                self.text(self.child(clause, "inputValues")),
            ))  # fmt: skip
        for n, clause in enumerate(element.iterchildren(self.tag("output")), start=1):
            table.outputs.append(OutputClause(
                clause.get("id"), clause.get("name"),
                clause.get("label") or clause.get("name") or f"output {n}", clause.get("typeRef"),
                self.text(self.child(clause, "outputValues")),
                self.text(self.child(clause, "defaultOutputEntry")),
            ))  # fmt: skip
        self.check_outputs(table, element, owner)
        for n, rule in enumerate(element.iterchildren(self.tag("rule")), start=1):
            row = RuleRow(rule.get("id"), n,
                          [self.text(e) or Text("", None)
                           for e in rule.iterchildren(self.tag("inputEntry"))],
                          [self.text(e) or Text("", None)
                           for e in rule.iterchildren(self.tag("outputEntry"))])
            if len(row.inputs) != len(table.inputs) or len(row.outputs) != len(table.outputs):
                self.problem(f"'{owner}' rule {n} has {len(row.inputs)} input and "
                             f"{len(row.outputs)} output entries; the table has "
                             f"{len(table.inputs)} inputs and {len(table.outputs)} outputs",
                             rule, owner)
                continue
            table.rules.append(row)
        return table

    def check_outputs(self, table: TableModel, element: etree._Element, owner: str) -> None:
        if not table.outputs:
            self.problem(f"'{owner}': the decision table has no output column", element, owner)
        if len(table.outputs) > 1:
            names = [o.name for o in table.outputs]
            if None in names or len(set(names)) != len(names):
                self.problem(f"'{owner}': every output column of a table with several outputs "
                             "needs its own name", element, owner)
            if table.aggregation:
                self.problem(f"'{owner}': aggregation ({table.aggregation}) needs a single "
                             "output column", element, owner)
        if table.hit_policy in ("PRIORITY", "OUTPUT ORDER") and not any(
            o.output_values is not None for o in table.outputs
        ):
            self.problem(f"'{owner}': hit policy {table.hit_policy} orders results by the output "
                         "values list; give the output column its output values", element, owner)


def read_model(source: bytes, filename: str) -> tuple[DefinitionsModel | None, list[Problem]]:
    """Parse the XML; return the model (None if unusable) and the problems found."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True,
                             huge_tree=False)
    try:
        root = etree.fromstring(source, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        return None, [Problem(filename, f"not well-formed XML: {exc.msg}", line)]
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "definitions" or namespace not in DMN_NAMESPACES:
        supported = ", ".join(DMN_NAMESPACES)
        return None, [Problem(filename, f"not a DMN file: root element {root.tag}; expected "
                              f"<definitions> in one of the DMN namespaces {supported}",
                              line_of(root))]
    reader = _Reader(filename, namespace)
    model = reader.read(root)
    return model, reader.problems
