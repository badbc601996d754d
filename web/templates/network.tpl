% rebase('base.tpl', title=title)
% if pending is not None:
<section class="banner" id="network-pending" role="alert" data-seconds-left="{{int(pending.seconds_left)}}">
  <p><strong>New network settings are on trial.</strong> Confirm them within
  <span id="network-countdown">{{int(pending.seconds_left)}}</span> s, or the previous settings come back
  by themselves. If this page cannot reach the box any more, wait: it will be reachable at its old
  address again.</p>
  <form method="post" action="/network/confirm">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <input type="hidden" name="change_id" value="{{pending.change_id}}">
    <button type="submit">Confirm the new settings</button>
  </form>
</section>
% end
% if problem:
<p class="error" role="alert">{{problem}}</p>
% end
% if unavailable:
<p class="muted">Network settings cannot be changed here: {{unavailable}}.</p>
% elif values is not None:
<form class="settings" method="post" action="/network">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <fieldset>
    <legend>Address</legend>
    <label><input type="radio" name="mode" value="dhcp"{{!' checked' if values['mode'] == 'dhcp' else ''}}> DHCP (the network gives the address, gateway and DNS)</label>
    <label><input type="radio" name="mode" value="static"{{!' checked' if values['mode'] == 'static' else ''}}> Static address</label>
    <label>Interface <input name="interface" value="{{values['interface']}}" maxlength="15" required></label>
    % include('field_error.tpl', name='interface')
    <label>Address <input name="address" value="{{values['address']}}" placeholder="192.168.1.50"></label>
    % include('field_error.tpl', name='address')
    <label>Prefix length <input name="prefix" value="{{values['prefix']}}" size="4" inputmode="numeric"></label>
    % include('field_error.tpl', name='prefix')
    <label>Gateway <input name="gateway" value="{{values['gateway']}}" placeholder="192.168.1.1"></label>
    % include('field_error.tpl', name='gateway')
    <label>DNS servers (comma separated) <input name="dns" value="{{values['dns']}}" size="40"></label>
    % include('field_error.tpl', name='dns')
  </fieldset>
  <fieldset>
    <legend>Name and time</legend>
    <label>Host name <input name="hostname" value="{{values['hostname']}}" maxlength="64" required></label>
    % include('field_error.tpl', name='hostname')
    <label>Time zone <input name="timezone" value="{{values['timezone']}}" placeholder="Europe/London" required></label>
    % include('field_error.tpl', name='timezone')
    <label><input type="checkbox" name="ntp" value="on"{{!' checked' if values['ntp'] == 'on' else ''}}> Set the clock by NTP</label>
    <label>NTP servers (comma separated, empty: the network's) <input name="ntp_servers" value="{{values['ntp_servers']}}" size="40"></label>
    % include('field_error.tpl', name='ntp_servers')
  </fieldset>
  <label>Roll back unless confirmed within <input name="confirm_within" value="{{values['confirm_within']}}" size="4" inputmode="numeric"> seconds ({{min_window}} to {{max_window}})</label>
  % include('field_error.tpl', name='confirm_within')
  <button type="submit">Apply</button>
</form>
% end
% include('network_remote.tpl', remote=remote, remote_problem=remote_problem)
