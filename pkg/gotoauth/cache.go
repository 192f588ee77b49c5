package gotoauth

import (
	"container/list"
	"sync"
)

// tokenCache keeps the newest known state of up to max connections in this
// process, least recently used out first, so that a hot connection's fresh
// token costs no DynamoDB call. Every refresh in the process updates it.
// A nil cache (size 0) keeps nothing.
type tokenCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *Connection, most recent first
	byID  map[string]*list.Element
}

func newTokenCache(max int) *tokenCache {
	if max <= 0 {
		return nil
	}
	return &tokenCache{max: max, order: list.New(), byID: map[string]*list.Element{}}
}

// get returns a copy of the cached state of id, or nil.
func (c *tokenCache) get(id string) *Connection {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[id]
	if !ok {
		return nil
	}
	c.order.MoveToFront(e)
	conn := *e.Value.(*Connection)
	return &conn
}

// put caches a copy of conn, unless a newer revision is cached already.
func (c *tokenCache) put(conn *Connection) {
	if c == nil || conn == nil || conn.Status != StatusActive {
		return
	}
	cp := *conn
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[cp.ConnectionID]; ok {
		if old := e.Value.(*Connection); old.Revision > cp.Revision && cp.Revision != 0 {
			return
		}
		e.Value = &cp
		c.order.MoveToFront(e)
		return
	}
	c.byID[cp.ConnectionID] = c.order.PushFront(&cp)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(*Connection).ConnectionID)
	}
}

// drop forgets id.
func (c *tokenCache) drop(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[id]; ok {
		c.order.Remove(e)
		delete(c.byID, id)
	}
}
