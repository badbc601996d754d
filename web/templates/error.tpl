% rebase('base.tpl', title=title)
<p class="error" role="alert">{{status}}: {{message}}</p>
