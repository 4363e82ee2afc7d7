#include "coordinator/store/pg_conn.h"

#include <cstdlib>
#include <vector>

namespace zlh::coordinator::store::pg {
namespace {
using proto::ErrorCode;
using proto::makeError;

// Calls block the thread that makes them (the logic thread, or the network thread for upgrade
// checks): a black-holed server must not hold it for long. libpq's minimum is 2 s.
constexpr const char* kConnectTimeoutS = "5";

// libpq messages end in newlines and may span lines; one log line wants one line.
std::string oneLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& ch : s)
    if (ch == '\n' || ch == '\t') ch = ' ';
  return s;
}

ErrorCode codeFor(std::string_view state) {
  if (state.size() != 5) return ErrorCode::kUnavailable;  // no server answer: the connection
  std::string_view cls = state.substr(0, 2);
  if (cls == "23") return ErrorCode::kConflict;  // integrity constraint violation
  // connection exception, insufficient resources, operator intervention (shutdown), lock
  // not available, serialization failure / deadlock (retry later), read-only transaction.
  if (cls == "08" || cls == "53" || cls == "57" || cls == "58" || state == "55P03" || cls == "40" ||
      state == "25006")
    return ErrorCode::kUnavailable;
  return ErrorCode::kInternal;
}

void ignoreNotice(void*, const char*) {}  // "relation ... already exists, skipping" and the like

// The raw (percent-encoded) password of a URL's userinfo, or "".
std::string_view rawUserinfoPassword(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view userinfo = authority.substr(0, at);
  auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return {};
  return userinfo.substr(colon + 1);
}

std::string decodedPassword(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (err) PQfreemem(err);
  if (!opts) return {};
  std::string out;
  for (PQconninfoOption* o = opts; o->keyword; ++o)
    if (std::string_view(o->keyword) == "password" && o->val) out = o->val;
  PQconninfoFree(opts);
  return out;
}
}  // namespace

std::string scrubSecret(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3))
    text.replace(pos, secret.size(), "***");
  return text;
}

std::string redactUrl(std::string_view url) {
  std::string out(url);
  std::string_view raw = rawUserinfoPassword(url);
  if (!raw.empty()) {
    size_t pos = static_cast<size_t>(raw.data() - url.data());
    out.replace(pos, raw.size(), "***");
  }
  // password=... among the query parameters.
  auto q = out.find('?');
  while (q != std::string::npos) {
    size_t key = q + 1;
    size_t end = out.find('&', key);
    if (out.compare(key, 9, "password=") == 0) {
      size_t value = key + 9;
      out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
      end = out.find('&', value);
    }
    q = end;
  }
  return out;
}

std::string scrubUrlSecrets(std::string text, std::string_view url) {
  text = scrubSecret(std::move(text), rawUserinfoPassword(url));
  for (size_t p = url.find("password="); p != std::string_view::npos;
       p = url.find("password=", p + 1)) {
    std::string_view value = url.substr(p + 9);
    text = scrubSecret(std::move(text), value.substr(0, value.find('&')));
  }
  return text;
}

int64_t Rows::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
}

std::string Rows::text(int row, int col) const {
  const char* v = PQgetvalue(r_.get(), row, col);
  return v ? std::string(v, static_cast<size_t>(PQgetlength(r_.get(), row, col))) : std::string();
}

int64_t Rows::int64(int row, int col) const {
  return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
}

bool Rows::boolean(int row, int col) const {
  const char* v = PQgetvalue(r_.get(), row, col);
  return v && v[0] == 't';
}

std::optional<std::string> Rows::optText(int row, int col) const {
  if (isNull(row, col)) return std::nullopt;
  return text(row, col);
}

std::optional<int64_t> Rows::optInt64(int row, int col) const {
  if (isNull(row, col)) return std::nullopt;
  return int64(row, col);
}

proto::Result<std::unique_ptr<Conn>> Conn::connect(const std::string& url, bool read_only) {
  std::string redacted = redactUrl(url);
  std::string secret = decodedPassword(url);
  // Ours first: with expand_dbname the URL's own settings override them.
  // TCP keepalives: a server that vanished without a FIN (host down, network cut) is noticed
  // in about a minute instead of the kernel's two hours.
  const char* keys[] = {
      "connect_timeout",     "fallback_application_name", "client_encoding", "keepalives_idle",
      "keepalives_interval", "keepalives_count",          "dbname",          nullptr};
  const char* values[] = {kConnectTimeoutS, "zlh-coordinator", "UTF8", "30", "10", "3", url.c_str(),
                          nullptr};
  PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!c) return makeError(ErrorCode::kUnavailable, "connect to " + redacted + ": out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = scrubSecret(oneLine(PQerrorMessage(c)), secret);
    msg = scrubUrlSecrets(std::move(msg), url);
    PQfinish(c);
    // The server names a missing database in its FATAL message (SQLSTATE 3D000 is not exposed
    // by a failed connection).
    if (msg.find("database \"") != std::string::npos &&
        msg.find("does not exist") != std::string::npos)
      return makeError(ErrorCode::kFailedPrecondition,
                       "connect to " + redacted + ": " + msg +
                           " (create it first, e.g. `createdb`; then run `zlh-coordinator init`)");
    return makeError(ErrorCode::kUnavailable, "connect to " + redacted + ": " + msg);
  }
  PQsetNoticeProcessor(c, ignoreNotice, nullptr);
  std::unique_ptr<Conn> conn(new Conn(c, std::move(redacted), std::move(secret), read_only));
  if (auto st = conn->configure(); !st) return st.error();
  return conn;
}

Conn::~Conn() { PQfinish(c_); }

std::string Conn::scrub(std::string text) const {
  return scrubSecret(oneLine(std::move(text)), secret_);
}

proto::Status Conn::configure() {
  // Session settings are lost with the session: set again after every reset.
  if (read_only_) {
    PGresult* r = PQexec(c_, "SET default_transaction_read_only = on");
    auto rows = finish("configure read-only session", r);
    if (!rows) return rows.error();
  }
  return {};
}

proto::Status Conn::ensureConnected(std::string_view context) {
  if (PQstatus(c_) == CONNECTION_OK) return {};
  if (in_tx_)  // the transaction died with the connection: the caller must start again
    return makeError(ErrorCode::kUnavailable,
                     std::string(context) + ": connection to " + redacted_ + " lost");
  last_state_.clear();
  auto now = std::chrono::steady_clock::now();
  if (now < retry_at_)
    return makeError(ErrorCode::kUnavailable,
                     std::string(context) + ": database " + redacted_ +
                         " unreachable (reconnecting at most once a second)");
  PQreset(c_);
  prepared_.clear();  // a new session has none
  if (PQstatus(c_) != CONNECTION_OK) {
    retry_at_ = std::chrono::steady_clock::now() + kReconnectBackoff;
    return makeError(ErrorCode::kUnavailable, std::string(context) + ": reconnect to " + redacted_ +
                                                  ": " + scrub(PQerrorMessage(c_)));
  }
  PQsetNoticeProcessor(c_, ignoreNotice, nullptr);
  return configure();
}

proto::Error Conn::failure(std::string_view context, const PGresult* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  last_state_ = state ? state : "";
  // The primary message only: DETAIL may quote row values (a token hash in a key).
  std::string msg = scrub(primary ? primary : PQerrorMessage(c_));
  if (PQstatus(c_) != CONNECTION_OK) {
    last_state_.clear();
    return makeError(ErrorCode::kUnavailable,
                     std::string(context) + ": connection to " + redacted_ + " lost: " + msg);
  }
  return makeError(codeFor(last_state_), std::string(context) + ": " + msg);
}

proto::Result<Rows> Conn::finish(std::string_view context, PGresult* r) {
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    last_state_.clear();
    return Rows(r);
  }
  proto::Error e = failure(context, r);
  PQclear(r);
  return e;
}

proto::Result<Rows> Conn::exec(std::string_view context, const char* sql,
                               std::initializer_list<Param> params) {
  if (auto st = ensureConnected(context); !st) return st.error();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p.value() ? p.value()->c_str() : nullptr);
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    // Parameter types are inferred once, as PQexecParams infers them on every call.
    std::string name = "zlh_" + std::to_string(prepared_.size());
    auto prepared =
        finish(context, PQprepare(c_, name.c_str(), sql, static_cast<int>(values.size()), nullptr));
    if (!prepared) return prepared.error();
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  PGresult* r = PQexecPrepared(c_, it->second.c_str(), static_cast<int>(values.size()),
                               values.data(), nullptr, nullptr, /*resultFormat=*/0);
  return finish(context, r);
}

proto::Result<Rows> Conn::execScript(std::string_view context, const char* sql) {
  if (auto st = ensureConnected(context); !st) return st.error();
  return finish(context, PQexec(c_, sql));
}

Transaction::Transaction(Conn& conn) : conn_(conn) {
  auto r = conn_.exec("begin transaction", "BEGIN");
  if (!r) {
    begin_ = r.error();
    done_ = true;
    return;
  }
  conn_.setInTransaction(true);
}

Transaction::~Transaction() {
  if (done_) return;
  // A lost connection has rolled back already; exec refuses to reconnect inside a transaction.
  (void)conn_.exec("rollback", "ROLLBACK");
  conn_.setInTransaction(false);
}

proto::Status Transaction::commit(std::string_view context) {
  auto r = conn_.exec(context, "COMMIT");
  done_ = true;
  conn_.setInTransaction(false);
  if (!r) return r.error();
  return {};
}

}  // namespace zlh::coordinator::store::pg
