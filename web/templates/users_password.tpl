% rebase('base.tpl', title=title)
<form class="own-password" method="post" action="/users/password">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Current password <input name="old" type="password" autocomplete="current-password" required></label>
  % include('field_error.tpl', name='old')
  <label>New password <input name="password" type="password" autocomplete="new-password" required></label>
  % include('field_error.tpl', name='password')
  <label>New password again <input name="password2" type="password" autocomplete="new-password" required></label>
  % include('field_error.tpl', name='password2')
  % include('users_digest.tpl', digest=digest)
  <button type="submit">Change password</button>
  <p class="muted">Changing your password ends your sessions everywhere else.</p>
</form>
