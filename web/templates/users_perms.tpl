<fieldset>
  <legend>Permissions</legend>
% for p in permissions:
  <label><input type="checkbox" name="perm" value="{{p}}"{{!' checked' if p in values['perms'] else ''}}> {{perm_labels[p]}} <span class="muted">({{p}})</span></label>
% end
  <label><input type="checkbox" name="admin" value="1"{{!' checked' if values['admin'] else ''}}> Admin (every permission, every user's messages, these pages)</label>
  % include('field_error.tpl', name='perms')
  % include('field_error.tpl', name='admin')
</fieldset>
