% rebase('base.tpl', title=title)
<p class="flash" role="status" id="restarting">{{what}}. The console is back in a minute or so: sign in again then.</p>
<p><a href="/system">Back to the System page</a></p>
