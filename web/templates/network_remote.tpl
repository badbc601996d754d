<section id="remote">
<h2>Remote connection</h2>
<p class="muted">The box dials out to a DRP relay, so that API clients reach it from anywhere
through the relay's account and this box's serial number; it opens no port for this.</p>
% status = remote['status']
% if status is not None:
<p id="remote-status">Status: <strong>{{'connected' if status['connected'] else 'not connected'}}</strong>
% if status['since']:
since {{status['since']}}
% end
% if status['last_error']:
&mdash; last error: {{status['last_error']}}
% end
</p>
% end
% if remote['source'] == 'config':
<p class="muted">The settings in force come from the configuration file's [remote] section; saving here overrides them.</p>
% end
% if remote_problem:
<p class="error" role="alert">{{remote_problem}}</p>
% end
% v = remote['values']
<form class="settings remote" method="post" action="/network/remote">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <fieldset>
    <legend>Relay</legend>
    <label>Relay device port (HOST:PORT) <input name="remote_server" value="{{v['remote_server']}}" placeholder="relay.example.net:8444" size="40"></label>
    <label>Secret <input type="password" name="remote_secret" value="" autocomplete="new-password" placeholder="{{'(unchanged)' if remote['has_secret'] else 'printed by smsd drp-server device add'}}" size="40"></label>
    <label>Certificate fingerprint (SHA-256) <input name="remote_fingerprint" value="{{v['remote_fingerprint']}}" size="70" placeholder="printed by smsd drp-server fingerprint"></label>
    <label>or CA file on the box <input name="remote_ca_file" value="{{v['remote_ca_file']}}" size="40"></label>
    <label><input type="checkbox" name="remote_enabled" value="on"{{!' checked' if v['remote_enabled'] == 'on' else ''}}> Keep the connection up</label>
  </fieldset>
  <button type="submit">Save remote connection</button>
</form>
</section>
