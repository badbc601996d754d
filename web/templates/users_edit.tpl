% rebase('base.tpl', title=title)
<h2>{{info.name}}{{' (disabled)' if info.disabled else ''}}</h2>
<form class="user-edit" method="post" action="/users/edit">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <input type="hidden" name="name" value="{{info.name}}">
  % include('users_perms.tpl', values=values)
  <label>Credits <input name="credits" value="{{values['credits']}}" inputmode="numeric" placeholder="unlimited"></label>
  % include('field_error.tpl', name='credits')
  <label><input type="checkbox" name="resend_unknown" value="1"{{!' checked' if values.get('resend_unknown') else ''}}> After a crash, send again the messages whose outcome is unknown (they may arrive twice)</label>
  <fieldset>
    <legend>Received SMS this user sees (besides what they sent)</legend>
    <p class="muted">Ports:</p>
% for p in box_ports:
    <label><input type="checkbox" name="port" value="{{p}}"{{!' checked' if p in values['ports'] else ''}}> Port {{p}}</label>
% end
    % include('field_error.tpl', name='ports')
    <p class="muted">Forwarding routes (what their filters match):</p>
% for r in routes:
    <label><input type="checkbox" name="route" value="{{r.id}}"{{!' checked' if r.id in values['routes'] else ''}}> Route {{r.id}}: {{r.url}}{{' port %d' % (r.port + 1) if r.port is not None else ''}}{{' from ' + r.sender_prefix + '...' if r.sender_prefix else ''}}{{' text ' + r.text_prefix + '...' if r.text_prefix else ''}}</label>
% end
% if not routes:
    <p class="muted">No routes yet (Routing page).</p>
% end
    % include('field_error.tpl', name='routes')
  </fieldset>
  <button type="submit">Save</button>
</form>

<h2>New password</h2>
<form class="user-passwd" method="post" action="/users/passwd">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <input type="hidden" name="name" value="{{info.name}}">
  <label>New password <input name="password" type="password" autocomplete="new-password" required></label>
  % include('field_error.tpl', name='password')
  <label>New password again <input name="password2" type="password" autocomplete="new-password" required></label>
  % include('field_error.tpl', name='password2')
  % include('users_digest.tpl', digest=digest)
  <button type="submit">Set password</button>
  <p class="muted">Setting a password ends this user's web sessions.</p>
</form>

<h2>SMPP password</h2>
% if smpp_password:
<p class="notice">New SMPP password for {{info.name}}: <code class="smpp-password">{{smpp_password}}</code>. It is shown only now: note it for the ESME's bind.</p>
% end
<form class="user-smpp" method="post" action="/users/smpp-password">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <input type="hidden" name="name" value="{{info.name}}">
  <p class="muted">An SMPP bind carries at most 8 password characters: a user whose password is longer binds with a separate SMPP password (and the smpp permission).
    {{'This user has one; a new one replaces it.' if smpp_set else 'This user has none.'}}</p>
  <button type="submit">New SMPP password</button>
</form>

<h2>Disable or delete</h2>
% if not myself:
<form class="user-state" method="post" action="/users/{{'enable' if info.disabled else 'disable'}}">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <input type="hidden" name="name" value="{{info.name}}">
  <button type="submit">{{'Enable' if info.disabled else 'Disable'}} user</button>
  <span class="muted">A disabled user keeps its settings and messages but cannot sign in or use any API.</span>
</form>
<form class="user-delete" method="post" action="/users/delete" data-confirm="Delete user {{info.name}}?">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <input type="hidden" name="name" value="{{info.name}}">
  <button type="submit">Delete user</button>
</form>
% else:
<p class="muted">This is your own user: another admin can disable or delete it.</p>
% end
% include('field_error.tpl', name='disable')
% include('field_error.tpl', name='delete')
