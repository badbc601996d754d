% rebase('base.tpl', title=title)
% include('search_form.tpl')
% include('pager.tpl')
% if found is not None and found.rows:
<table id="messages">
<thead><tr><th>Id</th><th>Time</th><th>To</th><th>Port</th><th>Status</th><th>Parts</th><th>Alphabet</th>
% if admin:
<th>User</th>
% end
<th>Text</th></tr></thead>
<tbody>
% for m in found.rows:
<tr data-id="{{m.message_id}}"><td>{{m.message_id}}</td><td>{{m.time}}</td><td>{{m.number}}</td>
<td>{{'' if m.port is None else port_names.get(m.port, m.port + 1)}}</td>
<td class="status-{{m.status}}">{{m.status}}{{(': ' + m.reason) if m.reason else ''}}</td>
<td>{{m.succ_count}} / {{m.count}}</td><td>{{m.encoding}}</td>
% if admin:
<td>{{m.user}}</td>
% end
<td>{{m.text}}</td></tr>
% end
</tbody></table>
% elif found is not None:
<p class="muted">No messages.</p>
% end
