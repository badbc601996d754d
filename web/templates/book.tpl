% rebase('base.tpl', title=title)
<p class="muted">One address book for the whole box: names and groups here can be used as recipients by every user and API.</p>
<div class="book">
<section>
<h2>Contacts ({{len(contacts)}})</h2>
<table class="contacts">
  <thead><tr><th>Name</th><th>Number</th><th>Groups</th><th></th></tr></thead>
  <tbody>
% for c in contacts:
    <tr>
      <td><a href="/book?contact={{quote(c.name)}}">{{c.name}}</a></td>
      <td>{{c.number}}</td>
      <td>{{', '.join(member_of.get(c.name, []))}}</td>
      <td><form class="inline" method="post" action="/book/contact/delete" data-confirm="Delete contact {{c.name}}?">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{c.name}}">
        <button type="submit" title="Delete {{c.name}}">Delete</button></form></td>
    </tr>
% end
  </tbody>
</table>
% include('field_error.tpl', name='contact_delete')

<h3>Add or change a contact</h3>
<form class="contact" method="post" action="/book/contact">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Name <input name="name" value="{{contact['name']}}" maxlength="64" required></label>
  % include('field_error.tpl', name='name')
  <label>Number <input name="number" value="{{contact['number']}}" placeholder="+4917012345678" required></label>
  % include('field_error.tpl', name='number')
  <button type="submit">Save contact</button>
</form>
</section>

<section>
<h2>Groups ({{len(groups)}})</h2>
<table class="groups">
  <thead><tr><th>Group</th><th>Members</th><th></th></tr></thead>
  <tbody>
% for g in groups:
    <tr>
      <td><a href="/book?group={{quote(g.name)}}">{{g.name}}</a></td>
      <td>{{', '.join(g.members)}}</td>
      <td><form class="inline" method="post" action="/book/group/delete" data-confirm="Delete group {{g.name}}?">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{g.name}}">
        <button type="submit" title="Delete {{g.name}}">Delete</button></form></td>
    </tr>
% end
  </tbody>
</table>
% include('field_error.tpl', name='group_delete')

<h3>Add or replace a group</h3>
<form class="group" method="post" action="/book/group">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Group name <input name="name" value="{{group['name']}}" maxlength="64" required></label>
  % include('field_error.tpl', name='group_name')
  <label>Members (contact names, one per line)<textarea name="members" rows="4">{{group['members']}}</textarea></label>
  % include('field_error.tpl', name='members')
  <button type="submit">Save group</button>
</form>
</section>

<section>
<h2>Import and export</h2>
<form class="import" method="post" action="/book/import" enctype="multipart/form-data">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label><input type="radio" name="kind" value="contacts"{{!' checked' if kind != 'groups' else ''}}> Contacts (Name,Number,Groups; the iSMS export and other gateways' layouts are read by their headers)</label>
  <label><input type="radio" name="kind" value="groups"{{!' checked' if kind == 'groups' else ''}}> Groups (Group,Members; or one row per member)</label>
  <label>CSV file (UTF-8, up to {{max_upload // 1024}} KiB) <input type="file" name="file" accept=".csv,text/csv" required></label>
  % include('field_error.tpl', name='file')
  <button type="submit">Import</button>
  <p class="muted">The whole file is checked first: a bad line imports nothing.</p>
</form>
<p><a href="/book/contacts.csv" download>Export contacts (CSV)</a> · <a href="/book/groups.csv" download>Export groups (CSV)</a></p>
</section>
</div>
