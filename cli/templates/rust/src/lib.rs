//! scripts.{{name}}: built by `yaowasm build` into {{out}}.

use serde::Deserialize;
use yao_guest::{export, Error};

#[derive(Deserialize)]
pub struct Item {
    pub price: f64,
    pub qty: f64,
}

#[derive(Deserialize)]
pub struct Order {
    pub items: Vec<Item>,
    #[serde(default)]
    pub coupon: f64,
}

/// scripts.{{name}}.Total: what the order costs after its coupon.
pub fn total(order: Order) -> Result<f64, Error> {
    if order.items.is_empty() {
        return Err(Error::bad_request("an order needs items"));
    }
    let sum: f64 = order.items.iter().map(|item| item.price * item.qty).sum();
    Ok((sum - order.coupon).max(0.0))
}

export!(Total => total);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_takes_the_coupon_off() {
        let order = Order { items: vec![Item { price: 10.0, qty: 2.0 }], coupon: 5.0 };
        assert_eq!(total(order).unwrap(), 15.0);
        assert_eq!(total(Order { items: vec![], coupon: 0.0 }).unwrap_err().code, 400);
    }
}
