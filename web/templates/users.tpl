% rebase('base.tpl', title=title)
<table class="users">
  <thead><tr><th>User</th><th>State</th><th>Admin</th><th>Permissions</th><th>Credits</th><th>HTTP Digest</th><th>Ports</th><th>Routes</th></tr></thead>
  <tbody>
% for u, digest, ports, routes in rows:
    <tr>
      <td><a href="{{edit_path(u.name)}}">{{u.name}}</a></td>
      <td>{{'disabled' if u.disabled else 'active'}}</td>
      <td>{{'yes' if u.admin else 'no'}}</td>
      <td>{{'all (admin)' if u.admin else ', '.join(perm_labels[p] for p in permissions if p in u.perms) or '-'}}</td>
      <td>{{'unlimited' if u.credits is None else u.credits}}</td>
      <td>{{', '.join(digest) or 'off'}}</td>
      <td>{{', '.join(str(p + 1) for p in ports) or '-'}}</td>
      <td>{{', '.join(str(r) for r in routes) or '-'}}</td>
    </tr>
% end
  </tbody>
</table>

<h2>New user</h2>
<form class="user-new" method="post" action="/users">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>User name <input name="name" value="{{new['name']}}" maxlength="64" required></label>
  % include('field_error.tpl', name='name')
  <label>Password <input name="password" type="password" autocomplete="new-password" required></label>
  % include('field_error.tpl', name='password')
  <label>Password again <input name="password2" type="password" autocomplete="new-password" required></label>
  % include('field_error.tpl', name='password2')
  <label><input type="checkbox" name="digest" value="1"{{!' checked' if new['digest'] else ''}}> Also allow HTTP Digest logins (JSON API; keeps a password equivalent, off unless needed)</label>
  % include('users_perms.tpl', values=new)
  <label>Credits <input name="credits" value="{{new['credits']}}" inputmode="numeric" placeholder="unlimited"></label>
  % include('field_error.tpl', name='credits')
  <button type="submit">Create user</button>
</form>
