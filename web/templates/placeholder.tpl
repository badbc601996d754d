% rebase('base.tpl', title=title)
<p>This page is not written yet.</p>
