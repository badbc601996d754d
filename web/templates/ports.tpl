% rebase('base.tpl', title=title)
<div class="ports">
% for card in cards:
%   info = card['info']
%   p = info.port
<section class="card port" id="port-{{p + 1}}">
  <h2>Port {{p + 1}}</h2>
  <p>{{info.state}} · {{info.type}} · {{info.operator or 'no operator'}} · registration {{info.reg}}
% if info.slot != 255:
    · SIM slot {{info.slot + 1}} of {{info.slots}}
% end
  </p>
  <p class="muted">IMSI {{info.imsi or '-'}} · ICCID {{info.iccid or '-'}} · number {{info.number or '-'}} · SMSC {{info.smsc or '-'}}
% if info.recovery_step:
    · recovery: {{info.recovery_step}} ({{info.recovery_reason}})
% elif info.recoveries:
    · last recovery: {{info.recovery_reason}}, by {{info.recovered_by}} ({{info.recoveries}} in all)
% end
  </p>
  <figure class="signal">
    <figcaption>Signal {{info.signal}}/31 ({{card['samples']}} recent samples)</figcaption>
    <svg class="spark" width="{{spark_w}}" height="{{spark_h}}" viewBox="0 0 {{spark_w}} {{spark_h}}" role="img" aria-label="signal history of port {{p + 1}}">
      <rect width="{{spark_w}}" height="{{spark_h}}" fill="#f0f3f6"/>
% if card['points']:
      <polyline fill="none" stroke="#0b5cad" stroke-width="1.5" points="{{card['points']}}"/>
% end
    </svg>
  </figure>

  <form class="port-settings" method="post" action="/ports/settings">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <input type="hidden" name="port" value="{{p}}">
% include('field_error.tpl', name='settings', errors=card['errors'])
% for f in card['fields']:
    <label>{{f.label}}
%   if f.kind in ('onoff', 'choice'):
      <select name="{{f.key}}">
%     for choice in f.choices:
        <option value="{{choice}}"{{!' selected' if choice == f.value else ''}}>{{choice}}</option>
%     end
      </select>
%   elif f.kind == 'secret':
      <input name="{{f.key}}" type="password" autocomplete="off" value="" placeholder="{{'set: leave empty to keep' if card['pin_set'] else 'none'}}">
%   else:
      <input name="{{f.key}}" value="{{f.value}}">
%   end
      <span class="muted">{{f.meaning}}</span>
% include('field_error.tpl', name=f.key, errors=card['errors'])
    </label>
%   if f.kind == 'secret' and card['pin_set']:
    <label><input type="checkbox" name="clear_{{f.key}}" value="1"> clear the stored PIN</label>
%   end
% end
    <button type="submit">Save port {{p + 1}}</button>
  </form>

% include('ports_sims.tpl', sims=card['sims'], csrf=csrf, errors=errors)

  <div class="port-actions">
% include('field_error.tpl', name='action', errors=card['errors'])
% include('field_error.tpl', name='param', errors=card['errors'])
% if info.slots > 1:
    <form method="post" action="/ports/action">
      <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="port" value="{{p}}">
      <input type="hidden" name="action" value="slot">
      <label>Active slot <select name="param">
% for s in card['slots']:
        <option value="{{s}}"{{!' selected' if s == info.slot else ''}}>slot {{s + 1}}</option>
% end
      </select></label>
      <button type="submit">Switch slot</button>
    </form>
% end
    <form method="post" action="/ports/action">
      <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="port" value="{{p}}">
      <input type="hidden" name="action" value="reset">
      <button type="submit">Reset port {{p + 1}}</button>
    </form>
    <form method="post" action="/ports/action">
      <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="port" value="{{p}}">
      <input type="hidden" name="action" value="power">
      <button type="submit" name="param" value="off">Power off</button>
      <button type="submit" name="param" value="on">Power on</button>
    </form>
    <form method="post" action="/ports/action">
      <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="port" value="{{p}}">
      <label>SIM PIN lock: PIN <input name="param" type="password" autocomplete="off" inputmode="numeric"></label>
      <button type="submit" name="action" value="lock">Require PIN</button>
      <button type="submit" name="action" value="unlock">Remove PIN</button>
    </form>
  </div>
</section>
% end
</div>
<p class="muted">Settings apply to the port, whichever of its SIM slots is active; the day and month limits count the parts the port sent in that period. The SIM limits count each SIM on its own: a SIM that reaches one hands over to the next slot with budget left.</p>
