"""The top bar's search: suggestions as you type (htmx), and the full results page, which works
without JavaScript. The query travels in a POST body and, for the results page's address, as an
opaque token kept in the session (customers.views.remember_search), never in a URL: it is often
a phone number."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from crm.search import MIN_QUERY_LENGTH, PAGE_LIMIT, SUGGESTION_LIMIT, search_everywhere
from customers.views import remember_search, remembered_search

# Longer text is no search anyone types; cut before normalising.
MAX_QUERY_LENGTH = 200


def _query(data) -> str:
    return data.get("q", "").strip()[:MAX_QUERY_LENGTH]


@require_http_methods(["GET", "POST"])
@permission_required("customers.view_customer", raise_exception=True)
def search_page(request: HttpRequest) -> HttpResponse:
    """POST (the top bar's form, Enter without a chosen suggestion): keep the query behind a
    token and show its results page. GET: the results of the remembered query, every group."""
    if request.method == "POST":
        query = _query(request.POST)
        url = reverse("search")
        if query:
            url += "?" + urlencode({"search": remember_search(request, query)})
        return HttpResponseRedirect(url)
    token = request.GET.get("search", "")
    query = remembered_search(request, token)
    return render(
        request,
        "search/results.html",
        {
            "query": query,
            "results": search_everywhere(user=request.user, query=query, limit=PAGE_LIMIT),
            "too_short": 0 < len(query) < MIN_QUERY_LENGTH,
            "min_length": MIN_QUERY_LENGTH,
        },
    )


@require_POST
@permission_required("customers.view_customer", raise_exception=True)
def search_suggestions(request: HttpRequest) -> HttpResponse:
    """The dropdown under the top bar's box (htmx posts what is typed): a few hits per group."""
    query = _query(request.POST)
    return render(
        request,
        "search/_suggestions.html",
        {
            "query": query,
            "results": search_everywhere(user=request.user, query=query, limit=SUGGESTION_LIMIT),
        },
    )
