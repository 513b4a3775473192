"""Review: the images the confidence gate rejected, with thumbnails and probabilities; a person
picks the label (the execution then succeeds with it) or rejects the image.

The queue is :class:`visiongate.monitor.review.ReviewQueue`; this module only renders it and
turns the two POST forms (``/review/complete``, ``/review/reject``) into calls. Every value
shown — keys, class names, reasons, reviewer names — comes from the store and is escaped by
``html()``.
"""

from __future__ import annotations

from visiongate.errors import VisiongateError
from visiongate.monitor.dashboard.context import Context
from visiongate.monitor.dashboard.html import Safe, html, join, layout, notice, table, url
from visiongate.monitor.review import Review, ReviewQueue

ACTIONS = ("/review/complete", "/review/reject")
FAILED = "Failed: "


def _probabilities(review: Review) -> Safe:
    rows = []
    for index, (name, probability) in enumerate(review.probabilities()):
        top = Safe(' class="top"') if index == review.top_class else Safe("")
        rows.append(
            html(
                '<tr{}><th scope="row">{}</th><td class="num">{:.3f}</td>'
                '<td><meter min="0" max="1" value="{:.4f}">{:.1f}%</meter></td></tr>',
                top,
                name,
                probability,
                probability,
                probability * 100,
            )
        )
    return html('<table class="probabilities"><tbody>{}</tbody></table>', join(rows))


def _label_form(ctx: Context, review: Review) -> Safe:
    choices = join(
        html(
            '<label class="choice"><input type="radio" name="label" value="{}" required> {}</label>',
            name,
            name,
        )
        for name in review.classes
    )
    return html(
        '<form method="post" action="/review/complete" class="label-form">'
        '<input type="hidden" name="id" value="{}"><input type="hidden" name="csrf" value="{}">'
        "<fieldset><legend>Label</legend>{}</fieldset>"
        '<label class="reviewer">Reviewer <input type="text" name="reviewer" maxlength="100" '
        'autocomplete="name" placeholder="optional"></label>'
        '<button type="submit" class="primary">Save label</button></form>'
        '<form method="post" action="/review/reject" class="reject-form">'
        '<input type="hidden" name="id" value="{}"><input type="hidden" name="csrf" value="{}">'
        '<input type="text" name="reason" maxlength="1000" placeholder="why none fits (optional)">'
        '<button type="submit" class="danger">Reject</button></form>',
        review.review_id,
        ctx.csrf,
        choices,
        review.review_id,
        ctx.csrf,
    )


def _card(ctx: Context, review: Review) -> Safe:
    execution = (
        html('<a href="{}">execution</a>', url("/execution", arn=review.execution_arn))
        if review.execution_arn
        else Safe("")
    )
    return html(
        '<article class="review" data-review="{}">'
        '<img class="thumb" src="{}" alt="{}" width="160" height="160">'
        '<div class="about"><p class="s3key">s3://{}/{}</p>'
        '<p class="muted">waiting since {} UTC · {}</p>{}{}</div>'
        '<div class="decide">{}</div></article>',
        review.review_id,
        url("/review/thumbnail", id=review.review_id),
        review.s3_key,
        review.s3_bucket,
        review.s3_key,
        review.created.replace("T", " ").rstrip("Z"),
        execution,
        html('<p class="reason">{}</p>', review.reason) if review.reason else Safe(""),
        _probabilities(review),
        _label_form(ctx, review),
    )


def _recent(queue: ReviewQueue) -> Safe:
    rows = []
    for record in queue.recent(limit=20):
        status = str(record.get("status") or "")
        rows.append(
            [
                html('<span class="s3key">{}</span>', record.get("s3_key") or ""),
                html('<span class="badge {}">{}</span>', status, status),
                record.get("label") or "",
                record.get("reviewer") or "",
                str(record.get("completed") or "").replace("T", " ").rstrip("Z"),
                html('<span class="s3key">{}</span>', record.get("dataset") or ""),
            ]
        )
    return table(
        ["Image", "Outcome", "Label", "Reviewer", "Completed (UTC)", "Dataset file"],
        rows,
        empty="No review finished yet.",
    )


def review_page(ctx: Context, queue: ReviewQueue) -> Safe:
    kind = "error" if ctx.flash.startswith(FAILED) else "ok"
    flash = notice(ctx.flash, kind) if ctx.flash else Safe("")
    try:
        buckets = queue.buckets()
        pending = queue.pending()
    except VisiongateError as exc:
        return layout("Review", html("{}{}", flash, notice(exc.message, "error")), active="/review")
    datasets = join((html("<code>{}</code>", queue.dataset(b).uri) for b in buckets), ", ")
    intro = html(
        '<p class="muted">{} image{} wait for a label. Labelled images are added to {} '
        "(train on them with <code>visiongate train --data s3://BUCKET/reviewed</code>).</p>",
        len(pending),
        "" if len(pending) == 1 else "s",
        datasets or "the review bucket's reviewed/ folder",
    )
    cards = (
        join(_card(ctx, review) for review in pending)
        if pending
        else notice("Nothing to review: every image passed the gate or has been labelled.")
    )
    body = html(
        '{}{}<section id="pending">{}</section><section><h2>Recently reviewed</h2>{}</section>',
        flash,
        intro,
        cards,
        _recent(queue),
    )
    return layout("Review", body, active="/review")


def act(path: str, form: dict[str, str], queue: ReviewQueue) -> str:
    """Run a review form; the flash message to show (expected failures say why)."""
    review_id = form.get("id", "")
    try:
        if path == "/review/complete":
            done = queue.complete(review_id, form.get("label", ""), form.get("reviewer") or None)
            return f"Labelled {done.review.s3_key} as {done.label}; its execution succeeds."
        review = queue.reject(review_id, form.get("reason", ""), form.get("reviewer") or None)
        return f"Rejected {review.s3_key}; its execution fails with REVIEW_REJECTED."
    except VisiongateError as exc:
        return FAILED + exc.message
