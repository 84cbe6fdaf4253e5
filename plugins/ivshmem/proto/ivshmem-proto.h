/*
 * ivshmem server protocol: the wire format and a client-side state machine.
 *
 * The protocol is one-way, server to client, over a UNIX stream socket. Every message is an
 * 8-byte little-endian signed integer, optionally carrying one file descriptor (SCM_RIGHTS).
 * On connect the server sends: the protocol version (0, no fd); the client's own ID (no fd);
 * -1 with the shared-memory fd; each existing peer's ID once per vector, each time with that
 * vector's eventfd; the client's own ID once per vector with its own eventfds. Afterwards a
 * peer ID with an fd announces one more vector of a (new) peer and a peer ID without an fd
 * announces that the peer left.
 *
 * This library has no dependency on tessera's core, so plugins (ivshmem-doorbell) and the
 * frontends (ivshmem-server, ivshmem-client) can all link it. Everything it reads is treated
 * as hostile: every violation is reported with a one-line message and no fd ever leaks.
 */
#ifndef TESSERA_IVSHMEM_PROTO_H
#define TESSERA_IVSHMEM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IVSHMEM_PROTOCOL_VERSION 0
/* Peer IDs are 16-bit: the guest's doorbell register carries the ID in bits 16..31. */
#define IVSHMEM_MAX_PEER_ID 65535
/* The shared-memory message carries this value. */
#define IVSHMEM_SHM_MESSAGE (-1)
/* Beyond this many eventfds for one peer a server is flooding us (MSI-X allows 2048). */
#define IVSHMEM_PROTO_VECTOR_LIMIT 2048
#define IVSHMEM_MSG_SIZE 8
#define IVSHMEM_ERROR_LEN 160

/* ---- Messages on the wire ------------------------------------------------------------- */

struct ivshmem_msg {
    int64_t value;
    int fd; /* -1 when the message carried no fd */
};

/*
 * Send one message on a socket, with fd attached when fd >= 0. The socket may be blocking
 * or not. Returns 0 when all 8 bytes went out, -EAGAIN when nothing was sent because the
 * socket is full, another negative errno on failure. A message is never half-sent on a
 * non-blocking socket in practice (8 bytes, one skb); if it ever is, -EIO is returned so the
 * caller drops the connection instead of desynchronising the stream.
 */
int ivshmem_msg_send(int sock, int64_t value, int fd);

/*
 * Reassembles messages from a stream socket: short reads are completed by later calls and
 * an fd arriving with any byte of a message belongs to that message.
 */
struct ivshmem_msg_reader {
    uint8_t buf[IVSHMEM_MSG_SIZE];
    size_t have;
    int fd;
    char error[IVSHMEM_ERROR_LEN];
};

enum ivshmem_read_result {
    IVSHMEM_READ_MESSAGE = 1, /* *msg is filled in; the caller owns msg->fd */
    IVSHMEM_READ_AGAIN = 0,   /* the socket has no more bytes for now (non-blocking) */
    IVSHMEM_READ_EOF = -1,    /* the peer closed cleanly between two messages */
    IVSHMEM_READ_ERROR = -2,  /* see reader->error; the connection is unusable */
};

void ivshmem_msg_reader_init(struct ivshmem_msg_reader *r);
/* Closes an fd held for a partial message. */
void ivshmem_msg_reader_reset(struct ivshmem_msg_reader *r);
enum ivshmem_read_result ivshmem_msg_read(struct ivshmem_msg_reader *r, int sock,
                                          struct ivshmem_msg *msg);

/* ---- Client-side state machine -------------------------------------------------------- */

enum ivshmem_session_state {
    IVSHMEM_SESSION_WANT_VERSION,
    IVSHMEM_SESSION_WANT_ID,
    IVSHMEM_SESSION_WANT_SHM,   /* peer announcements are already accepted here, as QEMU does */
    IVSHMEM_SESSION_READY,      /* shm received: the handshake is over */
    IVSHMEM_SESSION_FAILED,     /* a violation was seen; error[] says which */
};

enum ivshmem_event_kind {
    IVSHMEM_EVENT_VERSION,      /* the version message was accepted */
    IVSHMEM_EVENT_OWN_ID,       /* id = our ID */
    IVSHMEM_EVENT_SHM,          /* fd = shared memory, size = its size */
    IVSHMEM_EVENT_PEER_VECTOR,  /* peer id got vector `vector`, fd = eventfd to ring it */
    IVSHMEM_EVENT_OWN_VECTOR,   /* our vector `vector`, fd = eventfd we are rung on */
    IVSHMEM_EVENT_PEER_GONE,    /* peer id left; forget its eventfds */
    IVSHMEM_EVENT_IGNORED,      /* harmless oddity, already dealt with; warning[] says what */
};

struct ivshmem_event {
    enum ivshmem_event_kind kind;
    int64_t id;
    unsigned vector;
    int fd;        /* owned by the caller from now on; -1 when none */
    uint64_t size; /* IVSHMEM_EVENT_SHM only */
};

struct ivshmem_session {
    enum ivshmem_session_state state;
    unsigned max_vectors;   /* how many vectors this client uses; extra eventfds are closed */
    int64_t own_id;         /* -1 until known */
    uint16_t *vector_count; /* per peer ID, grown on demand up to 65536 entries */
    size_t vector_count_len;
    char error[IVSHMEM_ERROR_LEN];
    char warning[IVSHMEM_ERROR_LEN];
};

/* max_vectors: the client's own vector count (>= 1). */
void ivshmem_session_init(struct ivshmem_session *s, unsigned max_vectors);
void ivshmem_session_destroy(struct ivshmem_session *s);

/*
 * Feed one received message. Takes ownership of msg->fd in every case: it is either handed
 * over in *ev or closed. Returns 0 with *ev filled in, or -EPROTO when the message violates
 * the protocol (the session is FAILED from then on and s->error says why), or -ENOMEM.
 */
int ivshmem_session_feed(struct ivshmem_session *s, const struct ivshmem_msg *msg,
                         struct ivshmem_event *ev);

static inline bool ivshmem_session_ready(const struct ivshmem_session *s)
{
    return s->state == IVSHMEM_SESSION_READY;
}

/* ---- Doorbells ------------------------------------------------------------------------ */

/* Ring a peer's eventfd: adds 1 to its counter. Returns 0 or a negative errno. */
int ivshmem_eventfd_ring(int fd);
/* Drain a non-blocking eventfd. Returns the counter (0 when nothing was pending) or -errno. */
int64_t ivshmem_eventfd_drain(int fd);

#endif
