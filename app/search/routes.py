from flask import render_template, request
from flask_login import current_user

from app.policy import rule_required
from app.search import bp
from app.search.forms import SearchForm
from app.services import search as service


@bp.get("/search")
@rule_required("search.use")
def index():
    """The search page: the box alone until something is searched for; then the results the
    rulebook lets this person see, a page at a time."""
    if "q" not in request.args:
        return render_template("search/index.html", title="Search", form=SearchForm(formdata=None), results=None)
    form = SearchForm(formdata=request.args)
    if not form.validate():
        return render_template("search/index.html", title="Search", form=form, results=None), 400
    results = service.search(current_user, form.q.data, request.args.get("page"))
    return render_template(
        "search/index.html", title=f"Search results for ‘{form.q.data}’", form=form, results=results
    )
