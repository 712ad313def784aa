// The control area's coded errors: console and the policy services. Config keys have
// their own catalogue in config/errors.ts.
import { defineErrors } from '../errors.ts';

export const ControlErrors = defineErrors('control', {
  TG_CONSOLE_USAGE: '%s',
  TG_CONSOLE_UNKNOWN_COMMAND: 'unknown command "%s"; try "help"',
  TG_CONSOLE_NOT_RUNNING:
    'tollgate is not running (no console at %s): start it with "npm start" or "tollgate serve"',
  TG_CONSOLE_ALREADY_RUNNING: 'another tollgate is already running with console %s',
  TG_BAN_BAD_ADDRESS: 'not an IP address or CIDR range: "%s"',
  TG_BAN_NOT_FOUND: 'no ban for %s',
  TG_BAN_INSIDE_RANGE:
    'no ban for %s itself: it is inside the banned range %s (lift that range instead)',
  TG_BAN_PROTECTED: 'refusing to ban %s: %s; add --force to ban it anyway',
  TG_BAN_NOT_ENFORCED: 'refusing to ban %s: it would not be enforced: %s',
  TG_BAN_TOO_MANY_RANGES: 'refusing another range ban: %s are in force (lift some first)',
  TG_CALL_NOT_FOUND: 'no call %s (see "calls" for the live ones)',
  TG_CALLS_UNAVAILABLE: 'no SIP proxy here: calls are listed and ended by the running daemon',
  TG_FIREWALL_NOT_FOUND: 'no static firewall rule for %s (see "firewall list")',
  TG_USER_EXISTS: 'user %s already exists',
  TG_USER_NOT_FOUND: 'no user %s',
  TG_USER_BAD_NAME: 'bad user name "%s": use %s',
  TG_USER_BAD_FIELD: 'unknown user field "%s"; known: %s',
  TG_USER_WEAK_PASSWORD: 'refusing the password for %s: %s',
  TG_USER_LICENSE: 'refusing user %s: licensecfg allows at most %s users (maxusers)',
  TG_USER_VERIFY_OFF:
    'password verification for third parties is off (uauthverifypwd 0, as the reference recommends)',
  TG_ADMIN_EXISTS: 'administrator %s already exists',
  TG_ADMIN_NOT_FOUND: 'no administrator %s',
  TG_ADMIN_BAD_NAME: 'bad administrator name "%s": 2-32 of a-z 0-9 . _ -, starting with a letter',
  TG_ADMIN_WEAK_PASSWORD: 'refusing the password for %s: %s',
  TG_ADMIN_TOO_MANY: 'refusing another administrator: %s exist',
  TG_USER_UNSAFE_AUTH:
    'refusing needauth for %s: %s proves nothing (anyone can claim the account); turn enforcestrongauth off to allow it',
  TG_TRUNK_BAD_ARGUMENT: 'trunks: %s',
  TG_TRUNK_EXISTS: 'trunk %s already exists (delete it first to change it)',
  TG_TRUNK_NOT_FOUND: 'no trunk %s (see "trunks list")',
  TG_TRUNK_IN_USE: 'trunk %s is used by the routes %s: delete them first',
  TG_ROUTE_BAD_ARGUMENT: 'routes: %s',
  TG_ROUTE_EXISTS: 'a route for prefix "%s" to trunk %s already exists',
  TG_ROUTE_NOT_FOUND: 'no route for prefix "%s"%s (see "routes list")',
  TG_DAEMON_CANNOT_LISTEN: 'cannot listen on %s (%s port %s): %s; check sipaddress/webaddress',
  TG_DAEMON_PORT_TAKEN: '%s port %s on %s is already in use; stop what holds it or change %s',
});
