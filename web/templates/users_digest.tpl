<fieldset>
  <legend>HTTP Digest (now: {{', '.join(digest) or 'off'}})</legend>
  <label><input type="radio" name="digest" value="keep" checked> As it is</label>
  <label><input type="radio" name="digest" value="on"> On with this password (the JSON API's Digest logins; keeps a password equivalent)</label>
  <label><input type="radio" name="digest" value="off"> Off (Basic logins only)</label>
</fieldset>
