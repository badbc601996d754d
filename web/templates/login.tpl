% rebase('base.tpl', title=title)
<form class="login" method="post" action="/login?next={{next}}">
  <input type="hidden" name="csrf" value="{{pre_csrf}}">
% if error:
  <p class="error" role="alert">{{error}}</p>
% end
  <label>User name <input name="username" value="{{username}}" autocomplete="username" autofocus required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>
