"""The review inbox: a person's tasks and their groups' tasks, and the page to work on one."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from engine import HumanTask, InvalidInputError, Queue, is_overdue, utcnow
from web.auth import forbid, login_required

from .common import (
    back,
    display_variables,
    engine,
    is_admin,
    me,
    page_number,
    register_error_pages,
)
from .figures import show_figure
from .forms import form_fields, read_submission

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
register_error_pages(bp)

SHOW = ("all", "mine", "unclaimed")
SORTS = {"due": "Due date", "priority": "Priority", "age": "Age (oldest first)"}
PER_PAGE = 25
REFRESH_SECONDS = 20  # app.config["INBOX_REFRESH_SECONDS"] changes it


def _filters() -> dict[str, Any]:
    args = request.args
    show = args.get("show", "all")
    sort = args.get("sort", "due")
    return {"process": args.get("process") or "",
            "show": show if show in SHOW else "all",
            "overdue": args.get("overdue") == "1",
            "sort": sort if sort in SORTS else "due",
            "page": page_number(args.get("page"))}


def _queue(filters: dict[str, Any]) -> Queue:
    user = me()
    return engine().tasks.queue(user, process_key=filters["process"] or None,
                                show=filters["show"], overdue=filters["overdue"],
                                sort=filters["sort"], page=filters["page"], per_page=PER_PAGE)


def _digest(queue: Queue) -> str:
    """What the list shows, in short: the page refreshes itself only when this changes."""
    now = utcnow()
    shown = [(t.id, t.assignee, t.status, t.due_at, is_overdue(t, now))
             for t in queue.page.items]
    # the relative times ("5 min ago") also age: refresh them every five minutes
    text = repr((shown, sorted(queue.counts.items()), queue.page.total,
                 int(now.timestamp()) // 300))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _query(filters: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The query string for a link that changes some filters (the defaults left out)."""
    merged = {**filters, **changes}
    out: dict[str, Any] = {}
    if merged["process"]:
        out["process"] = merged["process"]
    if merged["show"] != "all":
        out["show"] = merged["show"]
    if merged["overdue"]:
        out["overdue"] = "1"
    if merged["sort"] != "due":
        out["sort"] = merged["sort"]
    if merged["page"] != 1:
        out["page"] = merged["page"]
    return out


def _queue_context(filters: dict[str, Any]) -> dict[str, Any]:
    queue = _queue(filters)
    names = {d.key: d.name or d.key for d in engine().repository.list_definitions("process")}
    refresh = current_app.config.get("INBOX_REFRESH_SECONDS", REFRESH_SECONDS)
    return {"queue": queue, "filters": filters, "sorts": SORTS, "process_names": names,
            "digest": _digest(queue), "query": lambda **c: _query(filters, **c),
            "now": utcnow(), "is_overdue": is_overdue, "refresh_seconds": refresh,
            "me_name": me().name}


@bp.get("")
@login_required
def index() -> str:
    """Show my tasks and my groups' open tasks, filtered and sorted as asked."""
    return render_template("inbox/index.html", **_queue_context(_filters()))


@bp.get("/queue")
@login_required
def queue() -> Response | str:
    """The task list alone, for the page's own refresh; 204 when nothing changed."""
    context = _queue_context(_filters())
    if request.args.get("v") == context["digest"]:
        return Response(status=204)
    return render_template("inbox/_queue.html", **context)


# -- one task -------------------------------------------------------------------------------

def _visible_task(task_id: str) -> HumanTask:
    """The task, if the signed-in person may see it; a 403 page otherwise."""
    task = engine().tasks.task(task_id)
    user = me()
    if not engine().identity.can_see_task(user, task):
        groups = ", ".join(task.candidate_groups or []) or "other people"
        forbid(f"task {task_id} is for {groups}; {user.name} is not in those groups")
    return task


def _render_task(task: HumanTask, values: dict[str, Any] | None = None,
                 errors: dict[str, str] | None = None, status: int = 200,
                 comment: str = "", comment_error: str | None = None) -> tuple[str, int]:
    eng = engine()
    user = me()
    instance = eng.runtime.instance(task.instance_id)
    definition = eng.repository.definition(instance.process_key, instance.version)
    events = eng.tasks.history(task)
    is_open = task.status in ("ready", "claimed")
    mine = task.assignee == user.name
    variables = display_variables(user, instance.variables)
    figures = [(figure, show_figure(figure)) for figure in eng.tasks.figures(task, variables)]
    context = {
        "figures": figures,
        "task": task, "instance": instance, "definition": definition,
        "fields": form_fields(task.form, values, errors), "errors": errors or {},
        "key_variables": {k: v for k, v in variables.items()
                          if isinstance(v, str | int | float | bool) or v is None},
        "variables": variables,
        "history": [e for e in events if e.type != "task_comment"],
        "comments": [e for e in events if e.type == "task_comment"],
        "is_open": is_open, "mine": mine, "may_work": is_open and mine,
        "may_claim": is_open and task.assignee is None,
        "may_unclaim": is_open and task.assignee is not None and (mine or is_admin(user)),
        "overdue": is_overdue(task), "is_admin": is_admin(user),
        "comment": comment, "comment_error": comment_error,
    }
    return render_template("inbox/task.html", **context), status


@bp.get("/tasks/<task_id>")
@login_required
def show_task(task_id: str) -> tuple[str, int]:
    """Show a task: what the case is about, the diagram, the form, comments and history."""
    return _render_task(_visible_task(task_id))


@bp.get("/tasks/<task_id>/diagram.bpmn")
@login_required
def task_diagram(task_id: str) -> ResponseReturnValue:
    """The BPMN of the version the task's instance runs on, for the diagram viewer."""
    task = _visible_task(task_id)
    instance = engine().runtime.instance(task.instance_id)
    definition = engine().repository.definition(instance.process_key, instance.version)
    return Response(definition.source, mimetype="application/xml")


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> ResponseReturnValue:
    """Take the task, so that nobody else works on it meanwhile."""
    task = _visible_task(task_id)
    engine().tasks.claim(task.id, me().name)
    flash(f"You have claimed “{task.name}”.", "success")
    return redirect(url_for("inbox.show_task", task_id=task.id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str) -> ResponseReturnValue:
    """Give the task back to its groups' queue."""
    task = _visible_task(task_id)
    user = me()
    if task.assignee and task.assignee != user.name and not is_admin(user):
        forbid(f"task {task_id} is claimed by {task.assignee}; only they or an admin "
               "may give it back")
    engine().tasks.unclaim(task.id, user.name)
    flash(f"“{task.name}” is back in the queue of {', '.join(task.candidate_groups)}."
          if task.candidate_groups else f"“{task.name}” is no longer claimed.", "success")
    return back(url_for("inbox.show_task", task_id=task.id))


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete(task_id: str) -> ResponseReturnValue:
    """Complete the task with its form; a form filled in wrongly comes back with messages."""
    task = _visible_task(task_id)
    data, typed, problems = read_submission(task.form, request.form)
    if problems:
        try:
            engine().tasks.check_submission(task, data)
        except InvalidInputError as exc:
            problems = {**exc.details.get("fields", {}), **problems}
        return _render_task(task, typed, problems, 422)
    try:
        engine().tasks.complete(task.id, me().name, data)
    except InvalidInputError as exc:
        fields = exc.details.get("fields") or {"?": exc.message}
        return _render_task(task, typed, fields, 422)
    flash(f"Done: “{task.name}” is completed and the process moves on.", "success")
    return redirect(url_for("inbox.index"))


@bp.post("/tasks/<task_id>/comments")
@login_required
def comment(task_id: str) -> ResponseReturnValue:
    """Add a comment that stays with the task, for whoever works on it next."""
    task = _visible_task(task_id)
    text = request.form.get("text", "")
    try:
        engine().tasks.add_comment(task.id, me().name, text)
    except InvalidInputError as exc:
        return _render_task(task, status=422, comment=text, comment_error=exc.message)
    flash("Your comment is saved with the task.", "success")
    return redirect(url_for("inbox.show_task", task_id=task.id, _anchor="comments"))
