% rebase('base.tpl', title=title)
% if problem:
<p class="error" role="alert">{{problem}}</p>
% end
<section>
<h2>Status</h2>
<table class="facts">
  <tr><th>Version</th><td id="version">smsd {{info.version}}</td></tr>
  <tr><th>Daemon running for</th><td>{{duration(info.uptime)}}</td></tr>
  <tr><th>Box up for</th><td>{{duration(info.box_uptime)}}</td></tr>
  <tr><th>Storage</th><td>{{size(info.storage.free)}} free of {{size(info.storage.total)}}; the database takes {{size(info.storage.database)}}</td></tr>
</table>
</section>

<section>
<h2>Log</h2>
<form class="search" method="get" action="/system">
  <label>Level at least <select name="level">
% for name in levels:
    <option value="{{name}}"{{!' selected' if name == level else ''}}>{{name}}</option>
% end
  </select></label>
  % include('field_error.tpl', name='level')
  <button type="submit">Show</button>
</form>
% if logs:
<pre class="log" id="log-lines">
% for line in logs:
{{when(line.created)}} {{line.level}} {{line.name}}: {{line.message}}
% end
</pre>
% else:
<p class="muted">No log lines at {{level}} or above.</p>
% end
</section>

<section>
<h2>Audit log</h2>
% if audit:
<table id="audit">
  <tr><th>When</th><th>User</th><th>Action</th><th>Detail</th></tr>
% for entry in audit:
  <tr><td>{{when(entry.created)}}</td><td>{{entry.user or '(the box)'}}</td><td>{{entry.action}}</td><td>{{entry.detail}}</td></tr>
% end
</table>
% else:
<p class="muted">No admin actions yet.</p>
% end
</section>

<section>
<h2>Backup and restore</h2>
<p>The backup is the whole database in one file: users, address book, routing, port settings, and
also the queue, the inbox and the audit log. The configuration backup holds the setup only (users
and permissions, address book, routing, port and SIM settings, and which HTTPS certificate is
served) and no message: restore it on another box to set that box up the same way. Keep both
safe: they hold the users' password hashes.</p>
<form method="post" action="/system/backup" id="backup-full">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit">Download a backup</button>
</form>
<form method="post" action="/system/backup" id="backup-config">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <input type="hidden" name="kind" value="config">
  <button type="submit">Download a configuration backup</button>
</form>
% if staged is not None:
<div class="banner" id="restore-staged">
% if staged.kind == 'config':
<p>An uploaded configuration backup is ready: schema version {{staged.schema}}{{', written by smsd ' + staged.smsd if staged.smsd else ''}}{{', made ' + when(staged.created) if staged.created else ''}}.
Restoring replaces the users, address book, routing, port and SIM settings of this box and keeps its messages (the current database is kept as smsd.db.pre-restore.bak); the daemon restarts.</p>
%   if staged.certificate:
<p id="restore-certificate">The box it came from served the HTTPS certificate {{staged.certificate}}. Certificates are not in the backup: upload that one below if this box should serve it too.</p>
%   end
% else:
<p>An uploaded backup is ready: schema version {{staged.schema}}{{', written by smsd ' + staged.smsd if staged.smsd else ''}}{{', made ' + when(staged.created) if staged.created else ''}}.
Restoring replaces everything in the database (the current one is kept as smsd.db.pre-restore.bak) and restarts the daemon.</p>
% end
<form method="post" action="/system/restore/confirm">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label><input type="checkbox" name="confirm" value="yes"> Yes, replace the database with this backup</label>
  % include('field_error.tpl', name='restore_confirm')
  <button type="submit">Restore and restart</button>
</form>
<form method="post" action="/system/restore/cancel">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit">Discard the upload</button>
</form>
</div>
% end
<form method="post" action="/system/restore" enctype="multipart/form-data">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Backup file to restore <input type="file" name="backup" accept=".db,.bak"></label>
  % include('field_error.tpl', name='backup')
  <button type="submit">Upload and check</button>
</form>
</section>

<section>
<h2>HTTPS certificate</h2>
% if certificate is not None:
<table class="facts" id="certificate">
  <tr><th>Subject</th><td>{{certificate.subject}}</td></tr>
  <tr><th>Issuer</th><td>{{certificate.issuer}}</td></tr>
  <tr><th>Names</th><td>{{', '.join(certificate.names)}}</td></tr>
  <tr><th>Valid</th><td>{{certificate.not_before}} to {{certificate.not_after}}</td></tr>
  <tr><th>SHA-256</th><td>{{certificate.sha256}}</td></tr>
  <tr><th>Source</th><td>{{certificate.source}}</td></tr>
</table>
<form method="post" action="/system/certificate" enctype="multipart/form-data">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Certificate (PEM, the chain may follow) <input type="file" name="certificate"></label>
  % include('field_error.tpl', name='certificate')
  <label>Private key (PEM, not encrypted) <input type="file" name="key"></label>
  % include('field_error.tpl', name='key')
  <button type="submit">Install the certificate</button>
</form>
% else:
<p class="muted">{{cert_note}}.</p>
% include('field_error.tpl', name='certificate')
% include('field_error.tpl', name='key')
% end
</section>

<section>
<h2>Update</h2>
% if last_update is not None:
<p id="last-update">Last update: {{last_update.line()}}</p>
% end
<form method="post" action="/system/update" enctype="multipart/form-data">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Signed package (smsd_VERSION_ARCH.deb) <input type="file" name="package" accept=".deb"></label>
  % include('field_error.tpl', name='package')
  <label>Its signature (.deb.sig) <input type="file" name="signature" accept=".sig"></label>
  % include('field_error.tpl', name='signature')
  <button type="submit">Check and install</button>
</form>
</section>

<section>
<h2>Restart, reboot, factory reset</h2>
<form method="post" action="/system/restart">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label><input type="checkbox" name="confirm" value="yes"> Yes, restart the daemon (messages on the air finish first)</label>
  % include('field_error.tpl', name='restart_confirm')
  <button type="submit">Restart the daemon</button>
</form>
<form method="post" action="/system/reboot">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label><input type="checkbox" name="confirm" value="yes"> Yes, reboot the box</label>
  % include('field_error.tpl', name='reboot_confirm')
  <button type="submit">Reboot the box</button>
</form>
<form method="post" action="/system/factory-reset">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label><input type="checkbox" name="confirm" value="yes"> Yes, erase every user, message, contact, route and port setting</label>
  % include('field_error.tpl', name='factory_reset_confirm')
  <button type="submit">Factory reset</button>
</form>
</section>
