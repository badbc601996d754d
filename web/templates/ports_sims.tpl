% p = sims['port']
<div class="port-sims" id="sims-{{p + 1}}">
  <h3>SIM limits</h3>
  <p>Active: {{sims['active']}}{{' (blocked)' if sims['blocked'] else ''}} · number {{sims['number'] or '-'}} · left today {{'no limit' if sims['left']['day'] is None else sims['left']['day']}} · this month {{'no limit' if sims['left']['month'] is None else sims['left']['month']}} · credit {{'no counter' if sims['left']['credit'] is None else sims['left']['credit']}}</p>
  <form method="post" action="/ports/block">
    <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="port" value="{{p}}">
% if sims['blocked']:
    <button type="submit" name="op" value="unblock">Unblock the active SIM</button>
% else:
    <button type="submit" name="op" value="block">Block the active SIM</button>
% end
  </form>
  <table class="sim-limits">
    <thead><tr><th>SIM</th>
% for key, label, meaning in sims['fields']:
      <th title="{{meaning}}">{{label}}</th>
% end
      <th></th></tr></thead>
    <tbody>
% for row in sims['rows']:
      <tr class="{{'active' if row.active else ''}}">
        <td>{{row.name}}{{' (active)' if row.active else ''}}{{' · blocked' if row.blocked else ''}}
%   if row.slot != -1:
          <form method="post" action="/ports/block">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="port" value="{{p}}"><input type="hidden" name="slot" value="{{row.slot}}">
            <button type="submit" name="op" value="{{'unblock' if row.blocked else 'block'}}">{{'Unblock' if row.blocked else 'Block'}} {{row.name}}</button>
          </form>
%   end
        </td>
%   form_id = 'sim-%d-%d' % (p, row.slot)
%   for key, label, meaning in sims['fields']:
        <td>
%     if key == 'sim_pin':
          <input form="{{form_id}}" name="{{key}}" type="password" autocomplete="off" value="" size="6" placeholder="{{row.values.get(key) or 'none'}}" aria-label="{{label}} of port {{p + 1}} {{row.name}}">
%       if row.values.get(key):
          <label><input form="{{form_id}}" type="checkbox" name="clear_{{key}}" value="1"> clear</label>
%       end
%     else:
          <input form="{{form_id}}" name="{{key}}" value="{{row.values.get(key, '')}}" size="8" aria-label="{{label}} of port {{p + 1}} {{row.name}}"{{!' disabled' if key == 'credit' and row.slot == -1 else ''}}>
%     end
% include('field_error.tpl', name='%s-%s' % (form_id, key), errors=errors)
        </td>
%   end
        <td><form id="{{form_id}}" method="post" action="/ports/sim">
          <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="port" value="{{p}}"><input type="hidden" name="slot" value="{{row.slot}}">
          <button type="submit">Save {{row.name}}</button>
% include('field_error.tpl', name=form_id, errors=errors)
        </form></td>
      </tr>
% end
    </tbody>
  </table>
  <p class="muted">Empty: the value of "every SIM" (or no limit). Credit: each SMS part takes 1; a SIM at 0 sends no more.</p>
</div>
