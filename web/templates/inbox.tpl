% rebase('base.tpl', title=title)
% include('search_form.tpl')
% include('pager.tpl')
% if found is not None and found.rows:
<table id="messages">
<thead><tr><th>Id</th><th>Received</th><th>From</th><th>Port</th><th>Slot</th><th></th><th>Text</th></tr></thead>
<tbody>
% for m in found.rows:
<tr data-id="{{m.id}}"><td>{{m.id}}</td><td>{{m.timestamp}}</td><td>{{m.number}}</td><td>{{port_names.get(m.port, m.port + 1)}}</td>
<td>{{'' if m.slot == 255 else m.slot + 1}}</td><td>{{'' if m.read else 'new'}}</td><td>{{m.text}}</td></tr>
% end
</tbody></table>
% elif found is not None:
<p class="muted">No messages.</p>
% end
